// code-execution:aws:Environment — ECS Fargate workers with the runner as a sidecar, in private subnets with no
// route to the internet (AWS services through VPC endpoints), ElastiCache Redis (TLS + auth token), RDS PostgreSQL
// (encrypted, password generated into Secrets Manager), the code bucket in S3, images in ECR, and autoscaling on
// the queue depth the workers publish (CodeExecution/QueueDepth).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import {
  bucketTlsOnlyPolicy,
  ecsTasksAssumeRolePolicy,
  executionRoleSecretsPolicy,
  INTERFACE_ENDPOINT_SERVICES,
  POSTGRES_PORT,
  REDIS_PORT,
  securityGroupRules,
  taskRolePolicy,
  type SecurityGroupName,
} from './awsPolicies.js';
import { cpuUnits, ECS_VOLUMES, ecsContainerDefinitions, fargateTaskSize } from './ecsContainers.js';
import { Images } from './images.js';
import { defaultMaxConcurrentJobs, runnerSidecarMemory } from './runnerSizing.js';
import { QUEUE_DEPTH_METRIC, workerEnvironment } from './workerEnv.js';

export interface AwsEnvironmentArgs {
  /** The region everything is created in (the aws provider's aws:region). */
  readonly region: string;
  /** ECS tasks the autoscaler keeps between. Default to 2 and 50. */
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  /** CodeExecution/QueueDepth value target tracking aims for. Defaults to 10. */
  readonly queueDepthTarget?: number;
  /** Defaults to 1: the runner sidecar runs one job at a time, more would only wait in the task's /shared. */
  readonly maxConcurrentJobs?: number;
  /**
   * Millicores and MB per container; the task size is the smallest Fargate size that holds both. Default to 500/1024
   * (worker) and 1500/3072 (runner). The runner's memory must hold the largest job plus overheads (runnerSidecarMemory).
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
  /** The VPC's address range. Defaults to 10.40.0.0/16 (two /20 private subnets are cut from its start). */
  readonly vpcCidr?: string;
}

/** Two private /20 subnets at the start of a /16. */
export function privateSubnetCidrs(vpcCidr: string): string[] {
  const m = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(vpcCidr);
  if (!m) throw new Error(`vpcCidr must be a /16 like 10.40.0.0/16, got ${JSON.stringify(vpcCidr)}`);
  return [`${m[1]}.${m[2]}.0.0/20`, `${m[1]}.${m[2]}.16.0/20`];
}

export class AwsEnvironment extends pulumi.ComponentResource {
  readonly outputs: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: AwsEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:aws:Environment', name, {}, opts);
    const a = {
      minWorkers: 2,
      maxWorkers: 50,
      queueDepthTarget: 10,
      maxConcurrentJobs: defaultMaxConcurrentJobs('sidecar'),
      workerCpuMillis: 500,
      workerMemoryMb: 1024,
      runnerCpuMillis: 1500,
      runnerMemoryMb: 3072,
      ephemeralStorageGb: 21,
      multiAz: false,
      redisNodeType: 'cache.t4g.micro',
      dbInstanceClass: 'db.t4g.micro',
      dbStorageGb: 20,
      logRetentionDays: 30,
      bucketExpirationDays: 30,
      vpcCidr: '10.40.0.0/16',
      ...args,
    };
    if (!a.region) throw new Error(`AwsEnvironment ${name}: region is required (pulumi config set aws:region us-east-1)`);
    if (a.minWorkers < 1 || a.minWorkers > a.maxWorkers) {
      throw new Error(`AwsEnvironment ${name}: minWorkers (${a.minWorkers}) must be >= 1 and <= maxWorkers (${a.maxWorkers})`);
    }
    // Fargate has no tmpfs: the runner's /workspace is task storage, so only the job and the sidecar count here.
    const runnerNeed = runnerSidecarMemory({ memoryBackedWorkspaceMb: 0 });
    if (a.runnerMemoryMb < runnerNeed.minimumMb) {
      throw new Error(`AwsEnvironment ${name}: runnerMemoryMb (${a.runnerMemoryMb}) is below what the runner sidecar needs: ${runnerNeed.explanation}`);
    }
    const taskSize = fargateTaskSize(cpuUnits(a.workerCpuMillis) + cpuUnits(a.runnerCpuMillis), a.workerMemoryMb + a.runnerMemoryMb);
    const child = { parent: this };
    const tags = { 'code-execution:stack': pulumi.getStack() };

    // --- network: private subnets only, no internet gateway, no NAT ----------------------------------------------
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: a.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags }, child);
    const zones = aws.getAvailabilityZonesOutput({ state: 'available' }, child);
    const subnets = privateSubnetCidrs(a.vpcCidr).map(
      (cidrBlock, i) =>
        new aws.ec2.Subnet(
          `${name}-private-${i}`,
          { vpcId: vpc.id, cidrBlock, availabilityZone: zones.names[i], mapPublicIpOnLaunch: false, tags: { ...tags, tier: 'private' } },
          child,
        ),
    );
    const subnetIds = subnets.map((s) => s.id);
    const routeTable = new aws.ec2.RouteTable(`${name}-private`, { vpcId: vpc.id, tags }, child);
    subnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: s.id, routeTableId: routeTable.id }, child));

    // --- security groups: empty, then exactly the rules of securityGroupRules() -----------------------------------
    const groups = {} as Record<SecurityGroupName, aws.ec2.SecurityGroup>;
    for (const [group, description] of [
      ['worker', 'code-execution workers (and their runner sidecars)'],
      ['redis', 'code-execution Redis'],
      ['database', 'code-execution PostgreSQL'],
      ['endpoints', 'code-execution VPC interface endpoints'],
    ] as const) {
      groups[group] = new aws.ec2.SecurityGroup(`${name}-${group}`, { vpcId: vpc.id, description, tags }, child);
    }
    const s3Endpoint = new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      { vpcId: vpc.id, serviceName: `com.amazonaws.${a.region}.s3`, vpcEndpointType: 'Gateway', routeTableIds: [routeTable.id], tags },
      child,
    );
    for (const service of INTERFACE_ENDPOINT_SERVICES) {
      new aws.ec2.VpcEndpoint(
        `${name}-${service.replace('.', '-')}`,
        {
          vpcId: vpc.id,
          serviceName: `com.amazonaws.${a.region}.${service}`,
          vpcEndpointType: 'Interface',
          privateDnsEnabled: true,
          subnetIds,
          securityGroupIds: [groups.endpoints.id],
          tags,
        },
        child,
      );
    }
    for (const rule of securityGroupRules()) {
      const peer = 'group' in rule.peer ? { referencedSecurityGroupId: groups[rule.peer.group].id } : { prefixListId: s3Endpoint.prefixListId };
      const ruleArgs = {
        securityGroupId: groups[rule.group].id,
        ipProtocol: 'tcp',
        fromPort: rule.port,
        toPort: rule.port,
        description: rule.description,
        ...peer,
      };
      const ruleName = `${name}-${rule.group}-${rule.direction}-${rule.port}-${'group' in rule.peer ? rule.peer.group : rule.peer.prefixList}`;
      if (rule.direction === 'egress') new aws.vpc.SecurityGroupEgressRule(ruleName, ruleArgs, child);
      else new aws.vpc.SecurityGroupIngressRule(ruleName, ruleArgs, child);
    }

    // --- Redis: ElastiCache, TLS in transit, encrypted at rest, auth token ----------------------------------------
    const redisToken = new random.RandomPassword(`${name}-redis-token`, { length: 48, special: false }, child);
    const redisSubnets = new aws.elasticache.SubnetGroup(`${name}-redis`, { subnetIds, description: 'code-execution Redis' }, child);
    const redis = new aws.elasticache.ReplicationGroup(
      `${name}-redis`,
      {
        description: 'code-execution job queue',
        engine: 'redis',
        engineVersion: '7.1',
        nodeType: a.redisNodeType,
        port: REDIS_PORT,
        numCacheClusters: a.multiAz ? 2 : 1,
        automaticFailoverEnabled: a.multiAz,
        multiAzEnabled: a.multiAz,
        transitEncryptionEnabled: true,
        atRestEncryptionEnabled: true,
        authToken: redisToken.result,
        subnetGroupName: redisSubnets.name,
        securityGroupIds: [groups.redis.id],
        snapshotRetentionLimit: 1,
        applyImmediately: true,
        tags,
      },
      child,
    );

    // --- PostgreSQL: RDS, encrypted, private, Multi-AZ by config -------------------------------------------------
    const dbPassword = new random.RandomPassword(`${name}-db-password`, { length: 40, special: false }, child);
    const dbSubnets = new aws.rds.SubnetGroup(`${name}-db`, { subnetIds, tags }, child);
    const db = new aws.rds.Instance(
      `${name}-db`,
      {
        engine: 'postgres',
        engineVersion: '16',
        instanceClass: a.dbInstanceClass,
        allocatedStorage: a.dbStorageGb,
        maxAllocatedStorage: a.dbStorageGb * 5,
        storageType: 'gp3',
        storageEncrypted: true,
        multiAz: a.multiAz,
        dbName: 'code_execution',
        username: 'code_execution',
        password: dbPassword.result,
        port: POSTGRES_PORT,
        dbSubnetGroupName: dbSubnets.name,
        vpcSecurityGroupIds: [groups.database.id],
        publiclyAccessible: false,
        backupRetentionPeriod: 7,
        copyTagsToSnapshot: true,
        // `pulumi destroy` removes the database with its data; see README "Tearing down".
        skipFinalSnapshot: true,
        deletionProtection: false,
        applyImmediately: true,
        tags,
      },
      child,
    );

    // --- the credentials, as Secrets Manager secrets the task definition injects ---------------------------------
    const secret = (key: string, description: string, value: pulumi.Input<string>) => {
      const s = new aws.secretsmanager.Secret(`${name}-${key}`, { description, recoveryWindowInDays: 7, tags }, child);
      new aws.secretsmanager.SecretVersion(`${name}-${key}`, { secretId: s.id, secretString: pulumi.secret(value) }, child);
      return s;
    };
    const redisUrlSecret = secret(
      'redis-url',
      'REDIS_URL of the code-execution workers (ElastiCache, TLS, auth token)',
      pulumi.interpolate`rediss://:${redisToken.result}@${redis.primaryEndpointAddress}:${REDIS_PORT}`,
    );
    const databaseUrlSecret = secret(
      'database-url',
      'DATABASE_URL of the code-execution workers (RDS PostgreSQL; holds the generated password)',
      pulumi.interpolate`postgres://code_execution:${dbPassword.result}@${db.address}:${POSTGRES_PORT}/code_execution?sslmode=require`,
    );

    // --- the code bucket: private, encrypted, TLS only, expiring ---------------------------------------------------
    const bucket = new aws.s3.Bucket(`${name}-code`, { forceDestroy: true, tags }, child);
    new aws.s3.BucketPublicAccessBlock(
      `${name}-code`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      child,
    );
    new aws.s3.BucketOwnershipControls(`${name}-code`, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-code`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }] },
      child,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-code`,
      {
        bucket: bucket.id,
        rules: [
          { id: 'expire-code', status: 'Enabled', filter: {}, expiration: { days: a.bucketExpirationDays } },
          { id: 'abort-incomplete-uploads', status: 'Enabled', filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
        ],
      },
      child,
    );
    new aws.s3.BucketPolicy(`${name}-code`, { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(bucketTlsOnlyPolicy(arn))) }, child);

    // --- images in ECR ---------------------------------------------------------------------------------------------
    const repository = (key: string) => {
      const repo = new aws.ecr.Repository(
        `${name}-${key}`,
        { imageTagMutability: 'MUTABLE', imageScanningConfiguration: { scanOnPush: true }, forceDelete: true, tags },
        child,
      );
      new aws.ecr.LifecyclePolicy(
        `${name}-${key}`,
        {
          repository: repo.name,
          policy: JSON.stringify({
            rules: [{ rulePriority: 1, description: 'keep the last 10 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 }, action: { type: 'expire' } }],
          }),
        },
        child,
      );
      return repo;
    };
    const workerRepo = repository('worker');
    const runnerRepo = repository('runner');
    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: workerRepo.registryId }, child);
    const images = new Images(
      `${name}-images`,
      {
        registry: { server: token.proxyEndpoint, username: token.userName, password: pulumi.secret(token.password) },
        workerRepository: workerRepo.repositoryUrl,
        runnerRepository: runnerRepo.repositoryUrl,
      },
      child,
    );

    // --- IAM: the execution role (pull, logs, secrets) and the task role (the worker's own permissions) ------------
    const assumeRolePolicy = JSON.stringify(ecsTasksAssumeRolePolicy());
    const executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy, tags }, child);
    new aws.iam.RolePolicyAttachment(
      `${name}-execution`,
      { role: executionRole.name, policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy' },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-execution-secrets`,
      {
        role: executionRole.id,
        policy: pulumi.all([redisUrlSecret.arn, databaseUrlSecret.arn]).apply((arns) => JSON.stringify(executionRoleSecretsPolicy(arns))),
      },
      child,
    );
    const taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy, tags }, child);
    new aws.iam.RolePolicy(`${name}-task`, { role: taskRole.id, policy: bucket.arn.apply((arn) => JSON.stringify(taskRolePolicy(arn))) }, child);

    // --- ECS: cluster, task definition (worker + runner sidecar), service in the private subnets ------------------
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-workers`, { retentionInDays: a.logRetentionDays, tags }, child);
    const cluster = new aws.ecs.Cluster(`${name}`, { settings: [{ name: 'containerInsights', value: 'enabled' }], tags }, child);
    const containerDefinitions = pulumi
      .all([images.workerImage, images.runnerImage, bucket.bucket, redisUrlSecret.arn, databaseUrlSecret.arn, logGroup.name])
      .apply(([workerImage, runnerImage, bucketName, redisUrlArn, databaseUrlArn, logGroupName]) =>
        JSON.stringify(
          ecsContainerDefinitions({
            workerImage,
            runnerImage,
            workerEnv: workerEnvironment({
              runnerMode: 'sidecar',
              maxConcurrentJobs: a.maxConcurrentJobs,
              s3Bucket: bucketName,
              s3Region: a.region,
              cloudwatchMetrics: true,
            }),
            workerSecrets: { REDIS_URL: redisUrlArn, DATABASE_URL: databaseUrlArn },
            logGroup: logGroupName,
            region: a.region,
            workerCpuUnits: cpuUnits(a.workerCpuMillis),
            workerMemoryMb: a.workerMemoryMb,
            runnerCpuUnits: cpuUnits(a.runnerCpuMillis),
            runnerMemoryMb: a.runnerMemoryMb,
          }),
        ),
      );
    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-worker`,
      {
        family: `${name}-worker`,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(taskSize.cpu),
        memory: String(taskSize.memory),
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        ephemeralStorage: { sizeInGib: a.ephemeralStorageGb },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        volumes: Object.values(ECS_VOLUMES).map((volume) => ({ name: volume })),
        containerDefinitions,
        tags,
      },
      child,
    );
    const service = new aws.ecs.Service(
      `${name}-workers`,
      {
        cluster: cluster.arn,
        taskDefinition: taskDefinition.arn,
        launchType: 'FARGATE',
        platformVersion: 'LATEST',
        desiredCount: a.minWorkers,
        networkConfiguration: { subnets: subnetIds, securityGroups: [groups.worker.id], assignPublicIp: false },
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        enableExecuteCommand: false,
        propagateTags: 'SERVICE',
        tags,
      },
      // The autoscaler owns desiredCount after the first deployment.
      { parent: this, ignoreChanges: ['desiredCount'] },
    );

    // --- autoscaling: target tracking on the queue depth the workers publish ------------------------------------
    const scalingTarget = new aws.appautoscaling.Target(
      `${name}-workers`,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
        minCapacity: a.minWorkers,
        maxCapacity: a.maxWorkers,
      },
      child,
    );
    new aws.appautoscaling.Policy(
      `${name}-queue-depth`,
      {
        policyType: 'TargetTrackingScaling',
        serviceNamespace: scalingTarget.serviceNamespace,
        scalableDimension: scalingTarget.scalableDimension,
        resourceId: scalingTarget.resourceId,
        targetTrackingScalingPolicyConfiguration: {
          targetValue: a.queueDepthTarget,
          scaleInCooldown: 60,
          scaleOutCooldown: 30,
          customizedMetricSpecification: { namespace: QUEUE_DEPTH_METRIC.namespace, metricName: QUEUE_DEPTH_METRIC.metricName, statistic: 'Average' },
        },
      },
      child,
    );

    this.outputs = {
      region: pulumi.output(a.region),
      cluster: cluster.name,
      service: service.name,
      bucket: bucket.bucket,
      redisEndpoint: redis.primaryEndpointAddress,
      databaseEndpoint: db.address,
      redisUrlSecretArn: redisUrlSecret.arn,
      databaseUrlSecretArn: databaseUrlSecret.arn,
      logGroup: logGroup.name,
      workerImage: images.workerImage,
      runnerImage: images.runnerImage,
      taskSize: pulumi.output(`${taskSize.cpu} CPU units, ${taskSize.memory} MB`),
      // Redis is private to the VPC: producers run inside it (or reach it over a VPN / peering).
      submitJob: pulumi.interpolate`from a host in the VPC: REDIS_URL="$(aws secretsmanager get-secret-value --region ${a.region} --secret-id ${redisUrlSecret.arn} --query SecretString --output text)" npx code-exec submit examples/hello.py`,
    };
    this.registerOutputs(this.outputs);
  }
}
