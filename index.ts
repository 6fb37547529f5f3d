// Pulumi program entry point (Pulumi.yaml -> package.json "main"). Deliberately thin: read and validate the stack
// config, build the one environment component of the target, export its outputs. Everything else lives in
// components/: the environment of each target (aws/ and gcp/, a file per concern; local.ts), the shared components
// (images, the Kubernetes workload) and the pure functions they are built from.
import * as pulumi from '@pulumi/pulumi';
import { readRdsCaBundle } from './components/aws/databaseCa.js';
import { AwsEnvironment } from './components/aws/index.js';
import { GcpEnvironment } from './components/gcp/index.js';
import { Images } from './components/images.js';
import { LocalEnvironment } from './components/local.js';
import { parseCloudLocation, parseStackConfig, PROJECT, type StackConfig } from './components/stackConfig.js';

const config = new pulumi.Config(PROJECT);
// Wrapped rather than passing config.get directly: it is a method and needs its `this`.
const settings = parseStackConfig((key) => config.get(key));
const location = parseCloudLocation(settings.target, (qualified) => {
  const [namespace, key] = qualified.split(':');
  return new pulumi.Config(namespace).get(key);
});

const sizes = (s: StackConfig) => ({
  maxConcurrentJobs: s.maxConcurrentJobs,
  workerCpuMillis: s.workerCpuMillis,
  workerMemoryMb: s.workerMemoryMb,
  runnerCpuMillis: s.runnerCpuMillis,
  runnerMemoryMb: s.runnerMemoryMb,
});

/** What both clouds take alike: cluster-mode Redis and the HTTP API (its tokens kept secret; unset: generated). */
const shared = (s: StackConfig) => ({
  redisCluster: s.redisCluster,
  redisShards: s.redisShards,
  redisReplicasPerShard: s.redisReplicasPerShard,
  apiPublic: s.apiPublic,
  apiTokens: s.apiTokens ? pulumi.secret(s.apiTokens) : undefined,
  apiMinReplicas: s.apiMinReplicas,
  apiMaxReplicas: s.apiMaxReplicas,
  apiCpuTargetPercent: s.apiCpuTargetPercent,
  apiCpuMillis: s.apiCpuMillis,
  apiMemoryMb: s.apiMemoryMb,
});

function environment(s: StackConfig): LocalEnvironment | AwsEnvironment | GcpEnvironment {
  switch (s.target) {
    case 'local':
      return new LocalEnvironment(PROJECT, {
        // No platform: built for the engine's own, which runs them (imagePlatform is the clouds').
        images: new Images(`${PROJECT}-images`, { runnerLanguages: s.runnerLanguages }),
        workers: s.minWorkers,
        maxConcurrentJobs: s.maxConcurrentJobs,
        redisPort: s.localRedisPort,
        objectStorePort: s.localObjectStorePort,
        postgresPort: s.localPostgresPort,
        bucketExpirationDays: s.bucketExpirationDays,
      });
    case 'aws':
      return new AwsEnvironment(PROJECT, {
        region: location.region!,
        // A path relative to the project directory, where `pulumi up` runs the program.
        databaseCaBundle: readRdsCaBundle(s.rdsCaBundleFile, location.region!),
        minWorkers: s.minWorkers,
        maxWorkers: s.maxWorkers,
        queueDepthTarget: s.queueDepthTarget,
        ...sizes(s),
        ...shared(s),
        apiCertificateArn: s.apiCertificateArn,
        multiAz: s.multiAz,
        redisNodeType: s.redisNodeType,
        dbInstanceClass: s.dbInstanceClass,
        dbStorageGb: s.dbStorageGb,
        logRetentionDays: s.logRetentionDays,
        bucketExpirationDays: s.bucketExpirationDays,
        runnerLanguages: s.runnerLanguages,
        imagePlatform: s.imagePlatform,
      });
    case 'gcp':
      return new GcpEnvironment(PROJECT, {
        project: location.project!,
        region: location.region!,
        // parseStackConfig allows only sidecar or kubernetes on gcp.
        runnerMode: s.runnerMode as 'sidecar' | 'kubernetes',
        minWorkers: s.minWorkers,
        maxWorkers: s.maxWorkers,
        queueDepthTarget: s.queueDepthTarget,
        ...sizes(s),
        ...shared(s),
        workspaceSizeMb: s.workspaceSizeMb,
        multiAz: s.multiAz,
        redisMemoryGb: s.redisMemoryGb,
        dbTier: s.dbTier,
        dbStorageGb: s.dbStorageGb,
        bucketExpirationDays: s.bucketExpirationDays,
        runnerLanguages: s.runnerLanguages,
        imagePlatform: s.imagePlatform,
      });
  }
}

const env = environment(settings);

export const target = settings.target;
export const runnerMode = settings.runnerMode;
export const maxConcurrentJobs = settings.maxConcurrentJobs;
export const workers = { min: settings.minWorkers, max: settings.maxWorkers };
export const queueDepthTarget = settings.queueDepthTarget;
/** What the environment exposes: endpoints, names, and `submitJob`, how to send it a first job. */
export const outputs = env.outputs;
