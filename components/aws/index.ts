// code-execution:aws:Environment — the aws target, one concern per file in this folder, each a function that
// creates its resources as children of this component (so their URNs are the ones a single-file component had):
//   network.ts     VPC, private subnets without a route to the internet, VPC endpoints, security groups
//   redis.ts       ElastiCache Redis (TLS, auth token; cluster mode by config) and its REDIS_URL secret
//   database.ts    RDS PostgreSQL (encrypted, Multi-AZ by config) and its DATABASE_URL secret
//   codeBucket.ts  the S3 code bucket (private, encrypted, TLS only, expiring)
//   registry.ts    ECR repositories and the images pushed to them
//   workers.ts     IAM roles, log group, ECS cluster, the Fargate service of worker + runner sidecar, autoscaling
//   api.ts         the HTTP API's Fargate service, its load balancer, secrets, security groups and autoscaling
// secrets.ts (a Secrets Manager secret) and executionRole.ts (an ECS execution role reading given secrets) are shared.
import * as pulumi from '@pulumi/pulumi';
import { runnerSidecarMemory } from '../runnerSizing.js';
import { DEFAULTS, type CloudImagePlatform } from '../stackConfig.js';
import { createApi, validateApiArgs } from './api.js';
import { createCodeBucket } from './codeBucket.js';
import { checkCaBundle } from './databaseCa.js';
import { createDatabase } from './database.js';
import { createNetwork, privateSubnetCidrs } from './network.js';
import { createRedis } from './redis.js';
import { createRegistry } from './registry.js';
import { createWorkers } from './workers.js';

export interface AwsEnvironmentArgs {
  /** The region everything is created in (the aws provider's aws:region). Required. */
  readonly region: string;
  /**
   * PEM of the CAs RDS signs with in the region (https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem):
   * the workers verify the database with it (DATABASE_CA_CERT). Required (index.ts reads it from rdsCaBundleFile).
   */
  readonly databaseCaBundle: string;
  /** ECS tasks the autoscaler keeps between. Default to the stack defaults, 1 and 1 (Pulumi.aws.yaml sets 2 and 50). */
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  /** CodeExecution/QueueDepth value target tracking aims for. Defaults to 10. */
  readonly queueDepthTarget?: number;
  /** Defaults to 1: the runner sidecar runs one job at a time, more would only wait in the task's /shared. */
  readonly maxConcurrentJobs?: number;
  /**
   * Millicores and MB per container; the task size is the smallest Fargate size that holds both. Default to 500/512
   * (worker) and 1000/2048 (runner). The runner's memory must hold the largest job plus overheads (runnerSidecarMemory).
   */
  readonly workerCpuMillis?: number;
  readonly workerMemoryMb?: number;
  readonly runnerCpuMillis?: number;
  readonly runnerMemoryMb?: number;
  /** Fargate ephemeral storage of the task in GB (holds the shared, workspace and /tmp volumes). Defaults to 21, the minimum. */
  readonly ephemeralStorageGb?: number;
  /** RDS Multi-AZ and an ElastiCache replica with automatic failover. Defaults to false. */
  readonly multiAz?: boolean;
  /** Defaults to cache.t4g.micro, db.t4g.micro and 20 GB. */
  readonly redisNodeType?: string;
  readonly dbInstanceClass?: string;
  readonly dbStorageGb?: number;
  /** Defaults to 30. */
  readonly logRetentionDays?: number;
  /** Days before an object of the code bucket expires. Defaults to 30. */
  readonly bucketExpirationDays?: number;
  /** The runner image's languages: `all` or recipe names, comma-separated (runner/Dockerfile's LANGUAGES). Defaults to all. */
  readonly runnerLanguages?: string;
  /** The platform the images are built for, and the tasks' architecture (X86_64 or ARM64). Defaults to linux/amd64. */
  readonly imagePlatform?: CloudImagePlatform;
  /** The VPC's address range. Defaults to 10.40.0.0/16 (two /20 private subnets are cut from its start). */
  readonly vpcCidr?: string;
  /** ElastiCache cluster mode with these shards and replicas per shard. Default to false, 3 and 1. */
  readonly redisCluster?: boolean;
  readonly redisShards?: number;
  readonly redisReplicasPerShard?: number;
  /** An internet-facing API load balancer (needs apiCertificateArn). Defaults to false: internal to the VPC. */
  readonly apiPublic?: boolean;
  /** The ACM certificate of the API's HTTPS listener. Defaults to none: plain HTTP on 80, internal only. */
  readonly apiCertificateArn?: string;
  /** The API's tokens, comma separated (a secret). Defaults to one generated (read it from the apiTokensSecretArn secret). */
  readonly apiTokens?: pulumi.Input<string>;
  /** API tasks the CPU autoscaler keeps between, and its target. Default to 2, 10 and 60 %. */
  readonly apiMinReplicas?: number;
  readonly apiMaxReplicas?: number;
  readonly apiCpuTargetPercent?: number;
  /** The API container's millicores and MB. Default to 250 and 512. */
  readonly apiCpuMillis?: number;
  readonly apiMemoryMb?: number;
}

export class AwsEnvironment extends pulumi.ComponentResource {
  readonly outputs: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: AwsEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:aws:Environment', name, {}, opts);
    // The stack keys default to the one table Pulumi.yaml is checked against (stackConfig.ts STACK_KEYS).
    const a = {
      minWorkers: DEFAULTS.minWorkers,
      maxWorkers: DEFAULTS.maxWorkers,
      queueDepthTarget: DEFAULTS.queueDepthTarget,
      maxConcurrentJobs: DEFAULTS.maxConcurrentJobs,
      workerCpuMillis: DEFAULTS.workerCpuMillis,
      workerMemoryMb: DEFAULTS.workerMemoryMb,
      runnerCpuMillis: DEFAULTS.runnerCpuMillis,
      runnerMemoryMb: DEFAULTS.runnerMemoryMb,
      multiAz: DEFAULTS.multiAz,
      redisNodeType: DEFAULTS.redisNodeType,
      dbInstanceClass: DEFAULTS.dbInstanceClass,
      dbStorageGb: DEFAULTS.dbStorageGb,
      logRetentionDays: DEFAULTS.logRetentionDays,
      bucketExpirationDays: DEFAULTS.bucketExpirationDays,
      runnerLanguages: DEFAULTS.runnerLanguages,
      imagePlatform: DEFAULTS.imagePlatform,
      redisCluster: DEFAULTS.redisCluster,
      redisShards: DEFAULTS.redisShards,
      redisReplicasPerShard: DEFAULTS.redisReplicasPerShard,
      apiPublic: DEFAULTS.apiPublic,
      apiCertificateArn: DEFAULTS.apiCertificateArn,
      apiMinReplicas: DEFAULTS.apiMinReplicas,
      apiMaxReplicas: DEFAULTS.apiMaxReplicas,
      apiCpuTargetPercent: DEFAULTS.apiCpuTargetPercent,
      apiCpuMillis: DEFAULTS.apiCpuMillis,
      apiMemoryMb: DEFAULTS.apiMemoryMb,
      ephemeralStorageGb: 21,
      vpcCidr: '10.40.0.0/16',
      ...args,
    };
    if (!a.region) throw new Error(`AwsEnvironment ${name}: region is required (pulumi config set aws:region us-east-1)`);
    let databaseCaBundle: string;
    try {
      databaseCaBundle = checkCaBundle(a.databaseCaBundle ?? '', 'databaseCaBundle');
    } catch (e) {
      throw new Error(`AwsEnvironment ${name}: ${(e as Error).message} (the RDS CA bundle of ${a.region}: https://truststore.pki.rds.amazonaws.com/${a.region}/${a.region}-bundle.pem)`);
    }
    if (a.minWorkers < 1 || a.minWorkers > a.maxWorkers) {
      throw new Error(`AwsEnvironment ${name}: minWorkers (${a.minWorkers}) must be >= 1 and <= maxWorkers (${a.maxWorkers})`);
    }
    try {
      privateSubnetCidrs(a.vpcCidr);
    } catch (e) {
      throw new Error(`AwsEnvironment ${name}: ${(e as Error).message}`);
    }
    // Fargate has no tmpfs: the runner's /workspace is task storage, so only the job and the sidecar count here.
    const runnerNeed = runnerSidecarMemory({ memoryBackedWorkspaceMb: 0 });
    if (a.runnerMemoryMb < runnerNeed.minimumMb) {
      throw new Error(`AwsEnvironment ${name}: runnerMemoryMb (${a.runnerMemoryMb}) is below what the runner sidecar needs: ${runnerNeed.explanation}`);
    }
    const api = {
      public: a.apiPublic,
      certificateArn: a.apiCertificateArn,
      minReplicas: a.apiMinReplicas,
      maxReplicas: a.apiMaxReplicas,
    };
    validateApiArgs(`AwsEnvironment ${name}`, api);
    const tags = { 'code-execution:stack': pulumi.getStack() };

    const network = createNetwork(name, { region: a.region, vpcCidr: a.vpcCidr, publicSubnets: a.apiPublic, tags }, this);
    const { subnetIds, securityGroups } = network;
    const redis = createRedis(
      name,
      {
        nodeType: a.redisNodeType,
        multiAz: a.multiAz,
        cluster: a.redisCluster ? { shards: a.redisShards, replicasPerShard: a.redisReplicasPerShard } : undefined,
        subnetIds,
        securityGroupId: securityGroups.redis.id,
        tags,
      },
      this,
    );
    const database = createDatabase(
      name,
      { instanceClass: a.dbInstanceClass, storageGb: a.dbStorageGb, multiAz: a.multiAz, subnetIds, securityGroupId: securityGroups.database.id, tags },
      this,
    );
    const bucket = createCodeBucket(name, { expirationDays: a.bucketExpirationDays, tags }, this);
    const images = createRegistry(name, { tags, runnerLanguages: a.runnerLanguages, platform: a.imagePlatform }, this);
    const workers = createWorkers(
      name,
      {
        region: a.region,
        minWorkers: a.minWorkers,
        maxWorkers: a.maxWorkers,
        queueDepthTarget: a.queueDepthTarget,
        maxConcurrentJobs: a.maxConcurrentJobs,
        workerCpuMillis: a.workerCpuMillis,
        workerMemoryMb: a.workerMemoryMb,
        runnerCpuMillis: a.runnerCpuMillis,
        runnerMemoryMb: a.runnerMemoryMb,
        ephemeralStorageGb: a.ephemeralStorageGb,
        logRetentionDays: a.logRetentionDays,
        redisCluster: a.redisCluster,
        images,
        imagePlatform: a.imagePlatform,
        subnetIds,
        securityGroupId: securityGroups.worker.id,
        bucket,
        redisUrlSecret: redis.urlSecret,
        databaseUrlSecret: database.urlSecret,
        databaseCaBundle,
        tags,
      },
      this,
    );
    const httpApi = createApi(
      name,
      {
        ...api,
        region: a.region,
        cpuTargetPercent: a.apiCpuTargetPercent,
        cpuMillis: a.apiCpuMillis,
        memoryMb: a.apiMemoryMb,
        tokens: a.apiTokens,
        redisCluster: a.redisCluster,
        logRetentionDays: a.logRetentionDays,
        image: images.workerImage,
        imagePlatform: a.imagePlatform,
        vpc: network.vpc,
        vpcCidr: a.vpcCidr,
        subnetIds,
        loadBalancerSubnetIds: a.apiPublic ? network.publicSubnetIds : subnetIds,
        securityGroups,
        s3PrefixListId: network.s3PrefixListId,
        cluster: workers.cluster,
        redisUrlSecret: redis.urlSecret,
        tags,
      },
      this,
    );

    const { taskSize } = workers;
    this.outputs = {
      region: pulumi.output(a.region),
      cluster: workers.cluster.name,
      service: workers.service.name,
      bucket: bucket.bucket,
      redisEndpoint: redis.endpoint,
      databaseEndpoint: database.instance.address,
      redisUrlSecretArn: redis.urlSecret.arn,
      databaseUrlSecretArn: database.urlSecret.arn,
      logGroup: workers.logGroup.name,
      workerImage: images.workerImage,
      runnerImage: images.runnerImage,
      taskSize: pulumi.output(`${taskSize.cpu} CPU units, ${taskSize.memory} MB`),
      apiService: httpApi.service.name,
      // Internal by default: reachable from the VPC (or over peering / VPN), like Redis.
      apiUrl: httpApi.url,
      apiTokensSecretArn: httpApi.tokensSecret.arn,
      // Redis is private to the VPC: producers run inside it (or reach it over a VPN / peering).
      submitJob: pulumi.interpolate`from a host in the VPC: REDIS_URL="$(aws secretsmanager get-secret-value --region ${a.region} --secret-id ${redis.urlSecret.arn} --query SecretString --output text)" npx code-exec submit examples/hello.py`,
    };
    this.registerOutputs(this.outputs);
  }
}
