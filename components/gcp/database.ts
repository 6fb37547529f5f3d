// The gcp target's database: Cloud SQL PostgreSQL on a private IP only (no public IPv4), TLS required, REGIONAL by
// config, with a generated password for the workers' user. The workers verify it: the instance's own server CA (an
// output of the instance) is what its certificate chains to, and the certificate names the instance as
// `<project>:<instance>` (Cloud SQL's per-instance CA), not by the private IP the workers connect to.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { POSTGRES_PORT } from '../awsPolicies.js';

/** The database and the user the workers connect as. */
export const DATABASE_NAME = 'code_execution';
export const DATABASE_USER = 'code_execution';

export interface DatabaseArgs {
  readonly project: string;
  readonly region: string;
  /** Cloud SQL machine tier, e.g. db-g1-small. */
  readonly tier: string;
  /** Disk size in GB (it grows automatically). */
  readonly storageGb: number;
  /** REGIONAL (a standby in another zone) instead of ZONAL. */
  readonly multiAz: boolean;
  readonly network: pulumi.Input<string>;
  /** The service networking peering the instance's private IP comes from. */
  readonly peering: pulumi.Resource;
  readonly labels: Record<string, string>;
}

export interface Database {
  readonly instance: gcp.sql.DatabaseInstance;
  /** DATABASE_URL, holding the generated password. */
  readonly url: pulumi.Output<string>;
  /** PEM of the instance's server CA (DATABASE_CA_CERT). */
  readonly serverCa: pulumi.Output<string>;
  /** The name the instance's certificate carries (DATABASE_SERVER_NAME). */
  readonly serverName: pulumi.Output<string>;
}

export const cloudSqlAvailability = (multiAz: boolean): 'REGIONAL' | 'ZONAL' => (multiAz ? 'REGIONAL' : 'ZONAL');

/**
 * DATABASE_URL of a Cloud SQL instance's private IP: TLS with the server verified. verify-full, checked against
 * DATABASE_SERVER_NAME (cloudSqlServerName) since the certificate does not name the IP address.
 */
export function cloudSqlDatabaseUrl(user: string, password: string, host: string, database: string, port: number = POSTGRES_PORT): string {
  return `postgres://${user}:${password}@${host}:${port}/${database}?sslmode=verify-full`;
}

/** The identity the certificate of an instance under Cloud SQL's per-instance CA carries (its CN). */
export const cloudSqlServerName = (project: string, instance: string): string => `${project}:${instance}`;

/** Creates `<name>-db` (instance, database, user) and `<name>-db-password` as children of `parent`. */
export function createDatabase(name: string, args: DatabaseArgs, parent: pulumi.Resource): Database {
  const child = { parent };
  const password = new random.RandomPassword(`${name}-db-password`, { length: 40, special: false }, child);
  const instance = new gcp.sql.DatabaseInstance(
    `${name}-db`,
    {
      project: args.project,
      region: args.region,
      databaseVersion: 'POSTGRES_16',
      deletionProtection: false,
      settings: {
        tier: args.tier,
        availabilityType: cloudSqlAvailability(args.multiAz),
        diskSize: args.storageGb,
        diskAutoresize: true,
        // The per-instance CA, pinned: its certificate's CN is cloudSqlServerName, and the CA is the instance's output.
        ipConfiguration: { ipv4Enabled: false, privateNetwork: args.network, sslMode: 'ENCRYPTED_ONLY', serverCaMode: 'GOOGLE_MANAGED_INTERNAL_CA' },
        backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true },
        userLabels: args.labels,
      },
    },
    { parent, dependsOn: [args.peering] },
  );
  const database = new gcp.sql.Database(`${name}-db`, { project: args.project, instance: instance.name, name: DATABASE_NAME }, child);
  const user = new gcp.sql.User(`${name}-db`, { project: args.project, instance: instance.name, name: DATABASE_USER, password: password.result }, child);
  const url = pulumi
    .all([user.name, password.result, instance.privateIpAddress, database.name])
    .apply(([u, p, host, db]) => cloudSqlDatabaseUrl(u, p, host, db));
  // Cloud SQL lists its server CAs newest first during a rotation; all of them are trusted.
  const serverCa = instance.serverCaCerts.apply((certs) => certs.map((c) => c.cert.trim()).filter(Boolean).join('\n'));
  const serverName = instance.name.apply((instanceName) => cloudSqlServerName(args.project, instanceName));
  return { instance, url, serverCa, serverName };
}
