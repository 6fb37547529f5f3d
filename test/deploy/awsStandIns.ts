// The managed services the aws stack's tasks talk to, stood in for on this machine, and (rehearsalTask) the one list
// of what a rehearsal changes in the stack's task definitions so that its containers reach them. Each stand-in is
// configured from the stack's own resource, as AWS configures the service from it:
// - ElastiCache (the replication group: transit encryption, its auth token): redis-server, TLS only, that token as
//   its AUTH password, its certificate from a CA standing for Amazon's;
// - RDS PostgreSQL (the instance: user, password, database): PostgreSQL, TLS only, that user logging in with that
//   password (scram-sha-256) to that database, its certificate from the CA the stack hands the workers
//   (DATABASE_CA_CERT, from rdsCaBundleFile: the rehearsal's RDS CA, see createAwsCas);
// - S3 (the code bucket): test/support/s3Server.ts with the stack's bucket;
// - CloudWatch: a recorder of PutMetricData;
// - ECR: the images `npm run images` builds stand for the digests the task definitions name (localImages).
// They listen on the Docker bridge's gateway, where the tasks' containers reach this host.
import Docker from 'dockerode';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reveal, secretValues, type StackRun } from '../pulumi/harness.js';
import { startCloudWatchRecorder, type CloudWatchRecorder } from '../support/cloudwatchRecorder.js';
import { dockerBridge } from '../support/dockerBridge.js';
import { startPostgres, type TestPostgres } from '../support/postgresServer.js';
import { startS3, type TestS3 } from '../support/s3Server.js';
import { DOCKER_SOCKET } from '../support/services.js';
import { createTestCa, type TestCa } from '../support/testCa.js';
import { startTlsRedis, type TlsRedis } from '../support/tlsRedis.js';
import type { EcsContainerDefinition, EcsVolume } from './ecsSemantics.js';
import { repoint, resource, type Substitution } from './rehearsal.js';

/** The CAs of a rehearsal: made before the stack runs, since the stack reads the RDS one (rdsCaBundleFile). */
export interface AwsCas {
  /** Stands for RDS's regional CA: the operator's rdsCaBundleFile, so the stack hands it to the workers. */
  rds: TestCa;
  /** Stands for Amazon's public CAs (in Node's store), which ElastiCache's certificates chain to. */
  amazon: TestCa;
  remove(): void;
}

export function createAwsCas(): AwsCas {
  const rds = createTestCa('rehearsal stand-in for rds-ca-rsa2048-g1');
  const amazon = createTestCa('rehearsal stand-in for Amazon Root CA 1');
  return { rds, amazon, remove: () => [rds, amazon].forEach((ca) => ca.remove()) };
}

export interface AwsStandIns {
  /** The Docker bridge's gateway: every stand-in's address, as containers see it. */
  gateway: string;
  elastiCache: TlsRedis;
  rds: TestPostgres;
  s3: TestS3;
  cloudWatch: CloudWatchRecorder;
  /** Host directory holding amazon-ca.pem, the CA the containers trust for ElastiCache. */
  trustDir: string;
  stop(): Promise<void>;
}

/** Starts the stand-ins of the stack's managed services, each configured from the stack's resource. */
export async function startAwsStandIns(run: StackRun, cas: AwsCas): Promise<AwsStandIns> {
  const { gateway, subnet } = await dockerBridge(new Docker({ socketPath: DOCKER_SOCKET }));
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const replicationGroup = resource(run, 'aws:elasticache/replicationGroup:ReplicationGroup', '-redis');
    if (replicationGroup.transitEncryptionEnabled !== true) throw new Error('the stack\'s ElastiCache has no transit encryption; the stand-in speaks TLS only');
    const elastiCache = await startTlsRedis({
      host: gateway,
      certificate: cas.amazon.issue({ ip: [gateway], commonName: 'elasticache stand-in' }),
      caPem: cas.amazon.certPem,
      password: String(reveal(replicationGroup.authToken)),
    });
    stops.push(() => elastiCache.stop());

    const instance = resource(run, 'aws:rds/instance:Instance', '-db');
    const rdsCertificate = cas.rds.issue({ ip: [gateway], commonName: 'rds stand-in' });
    const rds = await startPostgres({
      tls: { cert: rdsCertificate.certPem, key: rdsCertificate.keyPem },
      listen: [gateway],
      // The tasks' containers, and the test itself (which reaches the gateway from one of this host's addresses).
      passwordClients: [subnet, 'samehost'],
    });
    stops.push(() => rds.stop());
    // As RDS creates them: the master user (not a superuser) owning the named database.
    const quoted = (id: string) => `"${id.replace(/"/g, '""')}"`;
    await rds.query(`CREATE ROLE ${quoted(instance.username)} LOGIN PASSWORD '${String(reveal(instance.password)).replace(/'/g, "''")}'`);
    await rds.query(`CREATE DATABASE ${quoted(instance.dbName)} OWNER ${quoted(instance.username)}`);

    const s3 = await startS3(run.outputs.bucket, { address: gateway });
    stops.push(() => s3.stop());

    const cloudWatch = await startCloudWatchRecorder({ address: gateway });
    stops.push(() => cloudWatch.stop());

    // Only the certificate, readable by the containers' users (uid 1000 included).
    const trustDir = mkdtempSync(join(tmpdir(), 'aws-stand-in-trust-'));
    stops.push(() => rmSync(trustDir, { recursive: true, force: true }));
    writeFileSync(join(trustDir, 'amazon-ca.pem'), cas.amazon.certPem, { mode: 0o644 });
    chmodSync(trustDir, 0o755);

    return {
      gateway,
      elastiCache,
      rds,
      s3,
      cloudWatch,
      trustDir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One change a rehearsal makes to the stack's task definitions: what AWS provides, and what stands for it here. */
/** A task definition as a rehearsal starts it: its containers, volumes and secrets' values. */
export interface RehearsalTask {
  definitions: EcsContainerDefinition[];
  volumes: EcsVolume[];
  /** Secret values by ARN (valueFrom), as the execution role reads them. */
  secrets: Record<string, string>;
  substitutions: Substitution[];
}

/** Where containers mount the stand-ins' trust anchor (a host volume the rehearsal adds). */
const TRUST_VOLUME = 'rehearsal-trust';
const TRUST_PATH = '/etc/rehearsal-trust';

/**
 * The stack's task definition (`suffix`: its resource name's end, e.g. -worker) as the rehearsal starts it. Everything
 * stays as the stack set it, except these substitutions of what only AWS has (listed in the result, for the log):
 * 1. the ElastiCache endpoint in the REDIS_URL secret → the Redis stand-in's address (the auth token stays);
 * 2. the RDS endpoint in the DATABASE_URL secret → the PostgreSQL stand-in's address (user, password, database,
 *    sslmode=verify-full stay; DATABASE_CA_CERT is the stack's own: the operator's rdsCaBundleFile);
 * 3. Amazon's CAs in Node's store (ElastiCache's certificates chain to them) → NODE_EXTRA_CA_CERTS, the stand-in's
 *    CA from a host volume, in containers given REDIS_URL;
 * 4. S3's regional endpoint (no S3_ENDPOINT) → S3_ENDPOINT, the S3 stand-in, in containers given S3_BUCKET;
 * 5. CloudWatch's endpoint → AWS_ENDPOINT_URL_CLOUDWATCH, the recorder, in containers with CLOUDWATCH_METRICS=true;
 * 6. the task role's credentials (the agent's credentials endpoint) → AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
 *    of the S3 stand-in, in containers of a task with a task role.
 */
export async function rehearsalTask(run: StackRun, suffix: string, standIns: AwsStandIns): Promise<RehearsalTask> {
  const task = run.one('aws:ecs/taskDefinition:TaskDefinition', suffix).inputs;
  const { gateway, elastiCache, rds, s3, cloudWatch } = standIns;
  const substitutions: Substitution[] = [];
  const substitute = (s: Substitution) => {
    if (!substitutions.some((t) => t.managed === s.managed)) substitutions.push(s);
  };

  const stackDefinitions = JSON.parse(task.containerDefinitions) as EcsContainerDefinition[];
  const stored = secretValues(run);
  const endpoints = [
    { managed: 'ElastiCache endpoint (REDIS_URL secret)', host: run.outputs.redisEndpoint, standIn: elastiCache },
    { managed: 'RDS endpoint (DATABASE_URL secret)', host: run.outputs.databaseEndpoint, standIn: { host: gateway, port: rds.port } },
  ];
  const secrets: Record<string, string> = {};
  for (const { name, valueFrom } of stackDefinitions.flatMap((def) => def.secrets ?? [])) {
    const value = stored[valueFrom];
    if (value === undefined) throw new Error(`secret ${name} names ${valueFrom}, which the stack does not create`);
    const endpoint = /^[a-z]+:\/\//.test(value) ? endpoints.find((e) => new URL(value).hostname === e.host) : undefined;
    secrets[valueFrom] = endpoint ? repoint(value, endpoint.standIn) : value;
    if (endpoint) substitute({ managed: endpoint.managed, stack: new URL(value).host, rehearsal: new URL(secrets[valueFrom]).host });
  }

  const { credentials } = s3;
  const definitions = stackDefinitions.map((def) => {
    const env = Object.fromEntries((def.environment ?? []).map(({ name, value }) => [name, value]));
    const secretNames = new Set((def.secrets ?? []).map((s) => s.name));
    const added: Record<string, string> = {};
    const mountPoints = [...(def.mountPoints ?? [])];
    if (secretNames.has('REDIS_URL')) {
      added.NODE_EXTRA_CA_CERTS = `${TRUST_PATH}/amazon-ca.pem`;
      mountPoints.push({ sourceVolume: TRUST_VOLUME, containerPath: TRUST_PATH, readOnly: true });
      substitute({ managed: 'Amazon\'s CAs in Node\'s trust store (ElastiCache TLS)', stack: '(none: Node\'s own store)', rehearsal: `NODE_EXTRA_CA_CERTS=${added.NODE_EXTRA_CA_CERTS}` });
    }
    if (env.S3_BUCKET) {
      added.S3_ENDPOINT = s3.endpoint;
      substitute({ managed: 'S3 endpoint', stack: `(none set: s3.${env.S3_REGION}.amazonaws.com)`, rehearsal: `S3_ENDPOINT=${added.S3_ENDPOINT}` });
    }
    if (env.CLOUDWATCH_METRICS === 'true') {
      added.AWS_ENDPOINT_URL_CLOUDWATCH = cloudWatch.url;
      substitute({ managed: 'CloudWatch endpoint', stack: '(none set: monitoring.<region>.amazonaws.com)', rehearsal: `AWS_ENDPOINT_URL_CLOUDWATCH=${added.AWS_ENDPOINT_URL_CLOUDWATCH}` });
    }
    if (task.taskRoleArn && (env.S3_BUCKET || env.CLOUDWATCH_METRICS === 'true')) {
      added.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
      added.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
      substitute({ managed: 'task role credentials', stack: `${task.taskRoleArn} (ECS agent's credentials endpoint)`, rehearsal: 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the S3 stand-in' });
    }
    if (!Object.keys(added).length) return def;
    const clash = Object.keys(added).filter((name) => name in env || secretNames.has(name));
    if (clash.length) throw new Error(`container ${def.name} already sets ${clash.join(', ')}: the rehearsal would override the stack`);
    return { ...def, environment: [...(def.environment ?? []), ...Object.entries(added).map(([name, value]) => ({ name, value }))], mountPoints };
  });
  const volumes: EcsVolume[] = [...(task.volumes as EcsVolume[]), { name: TRUST_VOLUME, host: { sourcePath: standIns.trustDir } }];
  return { definitions, volumes, secrets, substitutions };
}
