// The managed services the gcp stack's pods talk to, stood in for on this machine, and (rehearsalPod) the one list of
// what a rehearsal changes in the stack's pods so that they reach them. Each stand-in is configured from the stack's
// own resource, as Google configures the service from it:
// - Memorystore for Redis (the instance: authEnabled, transitEncryptionMode DISABLED): redis-server without TLS,
//   requiring the instance's AUTH string (as the stack hands it on in REDIS_URL);
// - Cloud SQL for PostgreSQL (the instance: sslMode ENCRYPTED_ONLY, GOOGLE_MANAGED_INTERNAL_CA; its user, password and
//   database): PostgreSQL, TLS only, that user logging in with that password (scram-sha-256) to that database, its
//   certificate issued by the CA the stack reads back as the instance's server CA (the mocks answer with the
//   rehearsal's: createCloudSqlCa) and naming the instance as Cloud SQL's do (CN <project>:<instance>, not its IP);
// - Cloud Storage through its S3-compatible API (the code bucket): test/support/s3Server.ts with the stack's bucket;
// - Artifact Registry: the images `npm run images` builds stand for the digests the pods name (localImages; the
//   runner by its python-and-c build, see gcpStack.test.ts).
// They listen on podman's bridge gateway, where the pods reach this host.
import { reveal, type StackRun } from '../pulumi/harness.js';
import { startPostgres, type TestPostgres } from '../support/postgresServer.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { startS3, type TestS3 } from '../support/s3Server.js';
import { createTestCa, type TestCa } from '../support/testCa.js';
import { repoint, resource, type Substitution } from './rehearsal.js';
import type { Container, PodSpec } from './kubeSemantics.js';
import type { PodNetwork } from './kubePod.js';

/** Stands for the Cloud SQL instance's per-instance CA: made before the stack runs, which reads it back. */
export const createCloudSqlCa = (): TestCa => createTestCa('rehearsal stand-in for the Cloud SQL instance server CA');

export interface GcpStandIns {
  /** podman's bridge gateway: every stand-in's address, as the pods see it. */
  gateway: string;
  memorystore: TestRedis;
  cloudSql: TestPostgres;
  gcs: TestS3;
  stop(): Promise<void>;
}

/** The Secrets the stack creates, by name: key -> value (what the kubelet reads for secretKeyRef). */
export function kubeSecrets(run: StackRun): Record<string, Record<string, string>> {
  return Object.fromEntries(
    run.all('kubernetes:core/v1:Secret').map(({ inputs }) => {
      const data = Object.entries((reveal(inputs.data) ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]);
      return [inputs.metadata.name, { ...Object.fromEntries(data), ...(reveal(inputs.stringData) ?? {}) }];
    }),
  );
}

/** The Deployment of the stack whose resource name ends with `suffix`: its pod template's spec, and its namespace. */
export function deploymentPod(run: StackRun, suffix: string): { spec: PodSpec; namespace: string } {
  const { metadata, spec } = resource(run, 'kubernetes:apps/v1:Deployment', suffix);
  return { spec: spec.template.spec as PodSpec, namespace: metadata.namespace };
}

/** Starts the stand-ins of the stack's managed services on `network`'s gateway, each configured from the stack. */
export async function startGcpStandIns(run: StackRun, network: PodNetwork, ca: TestCa): Promise<GcpStandIns> {
  const { gateway, subnet } = network;
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const instance = resource(run, 'gcp:redis/instance:Instance', '-redis');
    if (instance.transitEncryptionMode !== 'DISABLED') throw new Error(`the stack's Memorystore has transitEncryptionMode ${instance.transitEncryptionMode}; the stand-in speaks plain Redis only`);
    if (instance.authEnabled !== true) throw new Error('the stack\'s Memorystore has no AUTH; the stand-in requires it');
    const authString = memorystoreAuthString(run);
    const memorystore = await startRedis({ host: gateway, password: authString });
    stops.push(() => memorystore.stop());

    const sql = resource(run, 'gcp:sql/databaseInstance:DatabaseInstance', '-db');
    const { sslMode, serverCaMode } = sql.settings.ipConfiguration;
    if (sslMode !== 'ENCRYPTED_ONLY' || serverCaMode !== 'GOOGLE_MANAGED_INTERNAL_CA') throw new Error(`the stack's Cloud SQL has sslMode ${sslMode} and serverCaMode ${serverCaMode}; the stand-in is ENCRYPTED_ONLY under a per-instance CA`);
    // A per-instance CA's server certificate: the instance's identity as CN, a DNS name, never the private IP.
    const instanceName = run.one('gcp:sql/databaseInstance:DatabaseInstance', '-db').name;
    const certificate = ca.issue({ commonName: `${sql.project}:${instanceName}`, dns: [`${instanceName}.${sql.region}.sql.goog`] });
    const postgres = await startPostgres({ tls: { cert: certificate.certPem, key: certificate.keyPem }, listen: [gateway], passwordClients: [subnet] });
    stops.push(() => postgres.stop());
    const user = resource(run, 'gcp:sql/user:User', '-db');
    const quoted = (id: string) => `"${id.replace(/"/g, '""')}"`;
    await postgres.query(`CREATE ROLE ${quoted(user.name)} LOGIN PASSWORD '${String(reveal(user.password)).replace(/'/g, "''")}'`);
    await postgres.query(`CREATE DATABASE ${quoted(resource(run, 'gcp:sql/database:Database', '-db').name)} OWNER ${quoted(user.name)}`);

    const gcs = await startS3(run.outputs.bucket, { address: gateway });
    stops.push(() => gcs.stop());
    return { gateway, memorystore, cloudSql: postgres, gcs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The instance's AUTH string, as the stack hands it on in every REDIS_URL (the mocks' output of the instance). */
function memorystoreAuthString(run: StackRun): string {
  const found = new Set(Object.values(kubeSecrets(run)).flatMap((values) => (values.REDIS_URL ? [decodeURIComponent(new URL(values.REDIS_URL).password)] : [])));
  if (found.size !== 1) throw new Error(`the stack's REDIS_URLs carry ${found.size} different AUTH strings; expected one`);
  return [...found][0];
}

/** A Deployment's pod as a rehearsal starts it: its spec, the Secrets it reads, and what was changed. */
export interface RehearsalPod {
  spec: PodSpec;
  namespace: string;
  secrets: Record<string, Record<string, string>>;
  substitutions: Substitution[];
}

/**
 * The stack's Deployment (`suffix`: its resource name's end) as the rehearsal plays it. Everything stays as the
 * stack set it, except these substitutions of what only Google has (listed in the result, for the log):
 * 1. the Memorystore address in every Secret's REDIS_URL → the Redis stand-in's (the AUTH string stays);
 * 2. the Cloud SQL private IP in DATABASE_URL → the PostgreSQL stand-in's address (user, password, database,
 *    sslmode=verify-full stay; DATABASE_CA_CERT and DATABASE_SERVER_NAME are the stack's own);
 * 3. GCS's endpoint (S3_ENDPOINT, https://storage.googleapis.com) → the S3 stand-in, over HTTP;
 * 4. the workers' HMAC key (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY in their Secret) → the S3 stand-in's credentials.
 */
export async function rehearsalPod(run: StackRun, suffix: string, standIns: GcpStandIns): Promise<RehearsalPod> {
  const { spec, namespace } = deploymentPod(run, suffix);
  const substitutions: Substitution[] = [];
  const endpoints = [
    { key: 'REDIS_URL', managed: 'Memorystore address (REDIS_URL)', standIn: { host: standIns.gateway, port: standIns.memorystore.port } },
    { key: 'DATABASE_URL', managed: 'Cloud SQL private IP (DATABASE_URL)', standIn: { host: standIns.gateway, port: standIns.cloudSql.port } },
  ];
  const credentials = await standIns.gcs.client.config.credentials();
  const hmac: Record<string, string> = { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey };
  const referenced = new Set([...(spec.initContainers ?? []), ...spec.containers].flatMap((c) => (c.env ?? []).flatMap((e) => e.valueFrom?.secretKeyRef?.name ?? [])));
  const secrets = Object.fromEntries(
    Object.entries(kubeSecrets(run)).filter(([name]) => referenced.has(name)).map(([name, values]) => [
      name,
      Object.fromEntries(
        Object.entries(values).map(([key, value]) => {
          const endpoint = endpoints.find((e) => e.key === key);
          if (endpoint) {
            const moved = repoint(value, endpoint.standIn);
            substitutions.push({ managed: endpoint.managed, stack: new URL(value).host, rehearsal: new URL(moved).host });
            return [key, moved];
          }
          if (key in hmac) {
            substitutions.push({ managed: `GCS HMAC key (${key})`, stack: `${name}/${key}`, rehearsal: 'the S3 stand-in\'s credentials' });
            return [key, hmac[key]];
          }
          return [key, value];
        }),
      ),
    ]),
  );
  const gcsEndpoint = (c: Container): Container => ({
    ...c,
    env: c.env?.map((e) => {
      if (e.name !== 'S3_ENDPOINT') return e;
      substitutions.push({ managed: 'GCS endpoint (S3_ENDPOINT)', stack: String(e.value), rehearsal: standIns.gcs.endpoint });
      return { ...e, value: standIns.gcs.endpoint };
    }),
  });
  return {
    spec: { ...spec, ...(spec.initContainers ? { initContainers: spec.initContainers.map(gcsEndpoint) } : {}), containers: spec.containers.map(gcsEndpoint) },
    namespace,
    secrets,
    substitutions,
  };
}
