// The aws target's database: RDS PostgreSQL, encrypted, private (no public access), Multi-AZ by config, with a
// generated password; its DATABASE_URL (TLS, the server verified: sslmode=verify-full against the CA bundle of
// databaseCa.ts, which names RDS's CAs) as a secret.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { POSTGRES_PORT } from '../awsPolicies.js';
import { createSecret } from './secrets.js';

/** The database and the user the workers connect as. */
export const DATABASE_NAME = 'code_execution';
export const DATABASE_USER = 'code_execution';

export interface DatabaseArgs {
  /** RDS instance class, e.g. db.t4g.micro. */
  readonly instanceClass: string;
  /** Allocated storage in GB; it grows automatically up to five times this. */
  readonly storageGb: number;
  /** A standby in a second zone. */
  readonly multiAz: boolean;
  readonly subnetIds: pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}

export interface Database {
  readonly instance: aws.rds.Instance;
  /** The Secrets Manager secret holding DATABASE_URL. */
  readonly urlSecret: aws.secretsmanager.Secret;
}

/** The CA RDS signs the instance's certificate with (in every region's bundle). */
export const RDS_CA_IDENTIFIER = 'rds-ca-rsa2048-g1';

/**
 * DATABASE_URL of an RDS instance: the generated password; TLS with the server verified, chain and name (its
 * certificate names the instance's endpoint). verify-full, spelled out: node-postgres reads `require` the same way
 * today, but libpq's `require` (which its next major version adopts) verifies nothing.
 */
export function rdsDatabaseUrl(password: string, host: string): string {
  return `postgres://${DATABASE_USER}:${password}@${host}:${POSTGRES_PORT}/${DATABASE_NAME}?sslmode=verify-full`;
}

/** Creates `<name>-db` (and its password, subnet group and URL secret) as children of `parent`. */
export function createDatabase(name: string, args: DatabaseArgs, parent: pulumi.Resource): Database {
  const child = { parent };
  const password = new random.RandomPassword(`${name}-db-password`, { length: 40, special: false }, child);
  const subnetGroup = new aws.rds.SubnetGroup(`${name}-db`, { subnetIds: args.subnetIds, tags: args.tags }, child);
  const instance = new aws.rds.Instance(
    `${name}-db`,
    {
      engine: 'postgres',
      engineVersion: '16',
      instanceClass: args.instanceClass,
      allocatedStorage: args.storageGb,
      maxAllocatedStorage: args.storageGb * 5,
      storageType: 'gp3',
      storageEncrypted: true,
      multiAz: args.multiAz,
      dbName: DATABASE_NAME,
      username: DATABASE_USER,
      password: password.result,
      port: POSTGRES_PORT,
      // Pinned: the workers' bundle must hold the CA that signs the instance's certificate.
      caCertIdentifier: RDS_CA_IDENTIFIER,
      dbSubnetGroupName: subnetGroup.name,
      vpcSecurityGroupIds: [args.securityGroupId],
      publiclyAccessible: false,
      backupRetentionPeriod: 7,
      copyTagsToSnapshot: true,
      // `pulumi destroy` removes the database with its data; see README "Tearing down".
      skipFinalSnapshot: true,
      deletionProtection: false,
      applyImmediately: true,
      tags: args.tags,
    },
    child,
  );
  const urlSecret = createSecret(
    name,
    'database-url',
    {
      description: 'DATABASE_URL of the code-execution workers (RDS PostgreSQL; holds the generated password)',
      value: pulumi.all([password.result, instance.address]).apply(([p, host]) => rdsDatabaseUrl(p, host)),
      tags: args.tags,
    },
    parent,
  );
  return { instance, urlSecret };
}
