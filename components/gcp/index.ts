// code-execution:gcp:Environment — the gcp target, one concern per file in this folder, each a function that
// creates its resources as children of this component (so their URNs are the ones a single-file component had):
//   apis.ts        the Google APIs the stack uses, enabled first
//   network.ts     VPC, the nodes' private subnet, the private services peering
//   cluster.ts     GKE Autopilot (private nodes) and the Kubernetes provider
//   redis.ts       Memorystore Redis (AUTH) on the peering, or Memorystore for Redis Cluster by config
//   database.ts    Cloud SQL PostgreSQL on a private IP only, TLS required
//   codeBucket.ts  the GCS code bucket and the workers' read-only identity (an HMAC key for its S3 API)
//   registry.ts    Artifact Registry and the images pushed to it
//   workers.ts     the shared Kubernetes workload on the cluster
//   api.ts         the HTTP API on the cluster (Deployment, internal load balancer Service, HPA, NetworkPolicy)
import * as pulumi from '@pulumi/pulumi';
import { runnerSidecarMemory } from '../runnerSizing.js';
import { DEFAULTS, type CloudImagePlatform } from '../stackConfig.js';
import { createApi } from './api.js';
import { enableApis } from './apis.js';
import { autopilotNodeSelector, createCluster } from './cluster.js';
import { createCodeBucket } from './codeBucket.js';
import { createMetricsAdapter } from './metrics.js';
import { createDatabase } from './database.js';
import { createNetwork } from './network.js';
import { createRedis } from './redis.js';
import { createRegistry } from './registry.js';
import { createWorkers } from './workers.js';

export { GCP_SERVICES } from './apis.js';
export { GCS_S3_ENDPOINT } from './codeBucket.js';

export interface GcpEnvironmentArgs {
  /** gcp:project and gcp:region. Required. */
  readonly project: string;
  readonly region: string;
  /** sidecar (runner next to each worker) or kubernetes (a runner Job per run). Defaults to sidecar. */
  readonly runnerMode?: 'sidecar' | 'kubernetes';
  /** Worker replicas the autoscaler keeps between. Default to the stack defaults, 1 and 1 (Pulumi.gcp.yaml sets 2 and 50). */
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  /** Defaults to 10. */
  readonly queueDepthTarget?: number;
  /** Defaults to 1 (the sidecar runs one job at a time; raise it for kubernetes mode). */
  readonly maxConcurrentJobs?: number;
  /** Millicores and MB. Default to 500/512 (worker) and 1000/2048 (runner sidecar); see KubernetesWorkloadArgs. */
  readonly workerCpuMillis?: number;
  readonly workerMemoryMb?: number;
  readonly runnerCpuMillis?: number;
  readonly runnerMemoryMb?: number;
  /** Defaults to 512. */
  readonly workspaceSizeMb?: number;
  /** Cloud SQL REGIONAL and Memorystore STANDARD_HA. Defaults to false. */
  readonly multiAz?: boolean;
  /** Defaults to 1 GB, db-g1-small and 20 GB. */
  readonly redisMemoryGb?: number;
  readonly dbTier?: string;
  readonly dbStorageGb?: number;
  /** Defaults to 30. */
  readonly bucketExpirationDays?: number;
  /** The runner image's languages: `all` or recipe names, comma-separated (runner/Dockerfile's LANGUAGES). Defaults to all. */
  readonly runnerLanguages?: string;
  /**
   * The platform the images are built for, and the nodes the pods ask for (arm64: Autopilot's Scale-Out class).
   * Defaults to linux/amd64; arm64 needs runnerMode sidecar (kubernetes mode's runner Jobs ask for no architecture).
   */
  readonly imagePlatform?: CloudImagePlatform;
  /** Memorystore for Redis Cluster with these shards and replicas per shard (at most 2). Default to false, 3 and 1. */
  readonly redisCluster?: boolean;
  readonly redisShards?: number;
  readonly redisReplicasPerShard?: number;
  /** An external load balancer for the API. Defaults to false: internal to the VPC. */
  readonly apiPublic?: boolean;
  /** The API's tokens, comma separated (a secret). Defaults to one generated (the apiTokens output). */
  readonly apiTokens?: pulumi.Input<string>;
  /** API replicas the HPA keeps between, and its CPU target. Default to 2, 10 and 60 %. */
  readonly apiMinReplicas?: number;
  readonly apiMaxReplicas?: number;
  readonly apiCpuTargetPercent?: number;
  /** The API container's millicores and MB. Default to 250 and 512. */
  readonly apiCpuMillis?: number;
  readonly apiMemoryMb?: number;
}

/** The stack label every resource carries (GCP label values: lower case, digits, - and _). */
export const stackLabelValue = (stack: string): string => stack.toLowerCase().replace(/[^a-z0-9_-]/g, '-');

export class GcpEnvironment extends pulumi.ComponentResource {
  readonly outputs: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: GcpEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:gcp:Environment', name, {}, opts);
    // The stack keys default to the one table Pulumi.yaml is checked against (stackConfig.ts STACK_KEYS).
    const a = {
      runnerMode: 'sidecar' as 'sidecar' | 'kubernetes',
      minWorkers: DEFAULTS.minWorkers,
      maxWorkers: DEFAULTS.maxWorkers,
      queueDepthTarget: DEFAULTS.queueDepthTarget,
      maxConcurrentJobs: DEFAULTS.maxConcurrentJobs,
      workerCpuMillis: DEFAULTS.workerCpuMillis,
      workerMemoryMb: DEFAULTS.workerMemoryMb,
      runnerCpuMillis: DEFAULTS.runnerCpuMillis,
      runnerMemoryMb: DEFAULTS.runnerMemoryMb,
      workspaceSizeMb: DEFAULTS.workspaceSizeMb,
      multiAz: DEFAULTS.multiAz,
      redisMemoryGb: DEFAULTS.redisMemoryGb,
      dbTier: DEFAULTS.dbTier,
      dbStorageGb: DEFAULTS.dbStorageGb,
      bucketExpirationDays: DEFAULTS.bucketExpirationDays,
      runnerLanguages: DEFAULTS.runnerLanguages,
      imagePlatform: DEFAULTS.imagePlatform,
      redisCluster: DEFAULTS.redisCluster,
      redisShards: DEFAULTS.redisShards,
      redisReplicasPerShard: DEFAULTS.redisReplicasPerShard,
      apiPublic: DEFAULTS.apiPublic,
      apiMinReplicas: DEFAULTS.apiMinReplicas,
      apiMaxReplicas: DEFAULTS.apiMaxReplicas,
      apiCpuTargetPercent: DEFAULTS.apiCpuTargetPercent,
      apiCpuMillis: DEFAULTS.apiCpuMillis,
      apiMemoryMb: DEFAULTS.apiMemoryMb,
      ...args,
    };
    if (!a.project) throw new Error(`GcpEnvironment ${name}: project is required (pulumi config set gcp:project <id>)`);
    if (!a.region) throw new Error(`GcpEnvironment ${name}: region is required (pulumi config set gcp:region us-central1)`);
    if (a.runnerMode !== 'sidecar' && a.runnerMode !== 'kubernetes') {
      throw new Error(`GcpEnvironment ${name}: runnerMode must be sidecar or kubernetes, got ${JSON.stringify(a.runnerMode)}`);
    }
    if (a.minWorkers < 1 || a.minWorkers > a.maxWorkers) {
      throw new Error(`GcpEnvironment ${name}: minWorkers (${a.minWorkers}) must be >= 1 and <= maxWorkers (${a.maxWorkers})`);
    }
    // Checked here as well as in KubernetesWorkload, which is created last: a bad size stops the program before
    // any resource is registered. On Kubernetes the memory-backed /workspace counts.
    const runnerNeed = runnerSidecarMemory({ memoryBackedWorkspaceMb: a.workspaceSizeMb });
    if (a.runnerMode === 'sidecar' && a.runnerMemoryMb < runnerNeed.minimumMb) {
      throw new Error(`GcpEnvironment ${name}: runnerMemoryMb (${a.runnerMemoryMb}) is below what the runner sidecar needs: ${runnerNeed.explanation}`);
    }
    if (a.redisCluster && a.redisReplicasPerShard > 2) {
      throw new Error(`GcpEnvironment ${name}: redisReplicasPerShard (${a.redisReplicasPerShard}) must be at most 2 for Memorystore for Redis Cluster`);
    }
    if (a.apiMinReplicas < 1 || a.apiMinReplicas > a.apiMaxReplicas) {
      throw new Error(`GcpEnvironment ${name}: apiMinReplicas (${a.apiMinReplicas}) must be >= 1 and <= apiMaxReplicas (${a.apiMaxReplicas})`);
    }
    if (a.runnerMode === 'kubernetes' && a.imagePlatform !== 'linux/amd64') {
      throw new Error(`GcpEnvironment ${name}: imagePlatform ${a.imagePlatform} needs runnerMode sidecar: the kubernetes mode's runner Jobs ask for no architecture and land on amd64 nodes`);
    }
    const labels = { 'code-execution-stack': stackLabelValue(pulumi.getStack()) };
    const nodeSelector = autopilotNodeSelector(a.imagePlatform);
    const { project, region } = a;

    const apis = enableApis(name, project, this);
    const network = createNetwork(name, { project, region, dependsOn: apis }, this);
    const cluster = createCluster(name, { project, region, network: network.network.id, subnetwork: network.subnet.id, labels }, this);
    const redis = createRedis(
      name,
      {
        project,
        region,
        memoryGb: a.redisMemoryGb,
        multiAz: a.multiAz,
        cluster: a.redisCluster ? { shards: a.redisShards, replicasPerShard: a.redisReplicasPerShard } : undefined,
        network: network.network.id,
        peering: network.peering,
        labels,
      },
      this,
    );
    const database = createDatabase(
      name,
      { project, region, tier: a.dbTier, storageGb: a.dbStorageGb, multiAz: a.multiAz, network: network.network.id, peering: network.peering, labels },
      this,
    );
    const code = createCodeBucket(name, { project, region, expirationDays: a.bucketExpirationDays, dependsOn: apis, labels }, this);
    const images = createRegistry(
      name,
      { project, region, dependsOn: apis, labels, runnerLanguages: a.runnerLanguages, platform: a.imagePlatform, readers: { nodes: cluster.nodeMember } },
      this,
    );
    const workload = createWorkers(
      name,
      {
        runnerMode: a.runnerMode,
        minWorkers: a.minWorkers,
        maxWorkers: a.maxWorkers,
        queueDepthTarget: a.queueDepthTarget,
        maxConcurrentJobs: a.maxConcurrentJobs,
        workerCpuMillis: a.workerCpuMillis,
        workerMemoryMb: a.workerMemoryMb,
        runnerCpuMillis: a.runnerCpuMillis,
        runnerMemoryMb: a.runnerMemoryMb,
        workspaceSizeMb: a.workspaceSizeMb,
        images,
        bucket: code.bucket.name,
        hmacAccessId: code.hmacKey.accessId,
        hmacSecret: code.hmacKey.secret,
        redisUrl: redis.url,
        databaseUrl: database.url,
        databaseCaCert: database.serverCa,
        databaseServerName: database.serverName,
        privateServicesCidr: network.privateServicesCidr,
        redisReach: redis.reach,
        redisCluster: a.redisCluster,
        nodeSelector,
        clusterName: cluster.cluster.name,
        provider: cluster.provider,
      },
      this,
    );
    createMetricsAdapter(name, { project, cluster: cluster.cluster, provider: cluster.provider }, this);
    const api = createApi(
      name,
      {
        image: images.workerImage,
        namespace: workload.namespace,
        redisUrl: redis.url,
        redisReach: redis.reach,
        redisCluster: a.redisCluster,
        tokens: a.apiTokens,
        public: a.apiPublic,
        minReplicas: a.apiMinReplicas,
        maxReplicas: a.apiMaxReplicas,
        cpuTargetPercent: a.apiCpuTargetPercent,
        cpuMillis: a.apiCpuMillis,
        memoryMb: a.apiMemoryMb,
        nodeSelector,
        provider: cluster.provider,
      },
      this,
    );

    this.outputs = {
      project: pulumi.output(project),
      region: pulumi.output(region),
      cluster: cluster.cluster.name,
      kubeconfig: cluster.kubeconfig,
      namespace: workload.namespace,
      bucket: code.bucket.name,
      redisHost: redis.host,
      databasePrivateIp: database.instance.privateIpAddress,
      workerImage: images.workerImage,
      runnerImage: images.runnerImage,
      // Internal by default: reachable from the VPC (or over peering / VPN).
      apiUrl: api.api.url,
      apiTokens: api.tokens,
      // Memorystore is private to the VPC: submit through a worker pod, which has REDIS_URL.
      submitJob: pulumi.interpolate`gcloud container clusters get-credentials ${cluster.cluster.name} --region ${region} --project ${project} && kubectl -n ${workload.namespace} exec -i deploy/${workload.deploymentName} -c worker -- sh -c 'cat > /tmp/hello.py && node /app/bin/code-exec.js submit /tmp/hello.py' < examples/hello.py`,
    };
    this.registerOutputs(this.outputs);
  }
}
