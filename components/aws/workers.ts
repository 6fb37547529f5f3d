// The aws target's workers: ECS Fargate tasks of the worker and the runner sidecar (ecsContainers.ts lays out the
// containers) in the private subnets, their two IAM roles, their log group, and autoscaling by target tracking on
// the backlog per worker: the queue depth the workers publish (CodeExecution/QueueDepth) over the service's running
// tasks (Container Insights' RunningTaskCount).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ecsTasksAssumeRolePolicy, taskRolePolicy } from '../awsPolicies.js';
import { cpuUnits, ECS_VOLUMES, ecsContainerDefinitions, ecsRuntimePlatform, fargateTaskSize } from '../ecsContainers.js';
import type { Images } from '../images.js';
import type { CloudImagePlatform } from '../stackConfig.js';
import { QUEUE_DEPTH_METRIC, workerEnvironment } from '../workerEnv.js';
import { createExecutionRole } from './executionRole.js';

export interface WorkersArgs {
  readonly region: string;
  /** Tasks the autoscaler keeps between; minWorkers is also the first deployment's count. */
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** CodeExecution/QueueDepth value target tracking aims for. */
  readonly queueDepthTarget: number;
  readonly maxConcurrentJobs: number;
  /** Millicores and MB per container. */
  readonly workerCpuMillis: number;
  readonly workerMemoryMb: number;
  readonly runnerCpuMillis: number;
  readonly runnerMemoryMb: number;
  /** Fargate ephemeral storage of the task in GB. */
  readonly ephemeralStorageGb: number;
  readonly logRetentionDays: number;
  /** Redis is a cluster (REDIS_CLUSTER=true). Defaults to false. */
  readonly redisCluster?: boolean;
  /** The platform the images were built for: the task's runtimePlatform. */
  readonly imagePlatform: CloudImagePlatform;
  /** The image references the task runs (Images' outputs). */
  readonly images: Pick<Images, 'workerImage' | 'runnerImage'>;
  readonly subnetIds: pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
  /** The code bucket the task role may read. */
  readonly bucket: Pick<aws.s3.Bucket, 'arn' | 'bucket'>;
  /** PEM of the CAs the database's certificate chains to (DATABASE_CA_CERT): RDS's regional bundle. */
  readonly databaseCaBundle: string;
  /** Secrets Manager secrets injected as REDIS_URL and DATABASE_URL. */
  readonly redisUrlSecret: Pick<aws.secretsmanager.Secret, 'arn'>;
  readonly databaseUrlSecret: Pick<aws.secretsmanager.Secret, 'arn'>;
  readonly tags: Record<string, string>;
}

export interface Workers {
  readonly cluster: aws.ecs.Cluster;
  readonly service: aws.ecs.Service;
  readonly logGroup: aws.cloudwatch.LogGroup;
  /** The Fargate task size, e.g. { cpu: 2048, memory: 4096 }. */
  readonly taskSize: { cpu: number; memory: number };
}

/** The task size: the smallest Fargate size that holds both containers. */
export function workerTaskSize(sizes: Pick<WorkersArgs, 'workerCpuMillis' | 'workerMemoryMb' | 'runnerCpuMillis' | 'runnerMemoryMb'>): { cpu: number; memory: number } {
  return fargateTaskSize(cpuUnits(sizes.workerCpuMillis) + cpuUnits(sizes.runnerCpuMillis), sizes.workerMemoryMb + sizes.runnerMemoryMb);
}

/**
 * Target tracking on the backlog per worker, by metric math: the queue depth over the service's running tasks.
 * Every worker publishes the same group-wide QueueDepth (without dimensions), so its average is the backlog itself;
 * tracking that alone would never fall as workers are added (target tracking would add workers until maxWorkers).
 * Per worker, target tracking's ceil(current × metric / target) is ceil(backlog / target): `targetValue` jobs
 * waiting per worker. RunningTaskCount comes from Container Insights, which the cluster enables. Scale out fast
 * (30 s), in slowly (60 s).
 */
export function queueDepthTracking(
  targetValue: number,
  service: { clusterName: string; serviceName: string },
): aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfiguration {
  return {
    targetValue,
    scaleInCooldown: 60,
    scaleOutCooldown: 30,
    customizedMetricSpecification: {
      metrics: [
        {
          id: 'backlog',
          label: 'jobs waiting for a worker (every worker publishes the same count)',
          metricStat: { metric: { namespace: QUEUE_DEPTH_METRIC.namespace, metricName: QUEUE_DEPTH_METRIC.metricName }, stat: 'Average' },
          returnData: false,
        },
        {
          id: 'workers',
          label: 'running worker tasks',
          metricStat: {
            metric: {
              namespace: 'ECS/ContainerInsights',
              metricName: 'RunningTaskCount',
              dimensions: [
                { name: 'ClusterName', value: service.clusterName },
                { name: 'ServiceName', value: service.serviceName },
              ],
            },
            stat: 'Average',
          },
          returnData: false,
        },
        { id: 'backlogPerWorker', expression: 'backlog / workers', label: 'jobs waiting per worker', returnData: true },
      ],
    },
  };
}

/** Creates the roles, `<name>-workers` log group and service, `<name>` cluster and the autoscaling under `parent`. */
export function createWorkers(name: string, args: WorkersArgs, parent: pulumi.Resource): Workers {
  const child = { parent };
  const { tags } = args;
  const taskSize = workerTaskSize(args);

  // --- IAM: the execution role (pull, logs, secrets) and the task role (the worker's own permissions) ------------
  const executionRole = createExecutionRole(name, [args.redisUrlSecret, args.databaseUrlSecret], tags, parent);
  const assumeRolePolicy = JSON.stringify(ecsTasksAssumeRolePolicy());
  const taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy, tags }, child);
  new aws.iam.RolePolicy(`${name}-task`, { role: taskRole.id, policy: args.bucket.arn.apply((arn) => JSON.stringify(taskRolePolicy(arn))) }, child);

  // --- ECS: cluster, task definition (worker + runner sidecar), service in the private subnets ------------------
  const logGroup = new aws.cloudwatch.LogGroup(`${name}-workers`, { retentionInDays: args.logRetentionDays, tags }, child);
  const cluster = new aws.ecs.Cluster(`${name}`, { settings: [{ name: 'containerInsights', value: 'enabled' }], tags }, child);
  const containerDefinitions = pulumi
    .all([args.images.workerImage, args.images.runnerImage, args.bucket.bucket, args.redisUrlSecret.arn, args.databaseUrlSecret.arn, logGroup.name])
    .apply(([workerImage, runnerImage, bucketName, redisUrlArn, databaseUrlArn, logGroupName]) =>
      JSON.stringify(
        ecsContainerDefinitions({
          workerImage,
          runnerImage,
          workerEnv: workerEnvironment({
            runnerMode: 'sidecar',
            maxConcurrentJobs: args.maxConcurrentJobs,
            s3Bucket: bucketName,
            s3Region: args.region,
            cloudwatchMetrics: true,
            redisCluster: args.redisCluster,
            databaseCaCert: args.databaseCaBundle,
          }),
          workerSecrets: { REDIS_URL: redisUrlArn, DATABASE_URL: databaseUrlArn },
          logGroup: logGroupName,
          region: args.region,
          workerCpuUnits: cpuUnits(args.workerCpuMillis),
          workerMemoryMb: args.workerMemoryMb,
          runnerCpuUnits: cpuUnits(args.runnerCpuMillis),
          runnerMemoryMb: args.runnerMemoryMb,
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
      runtimePlatform: ecsRuntimePlatform(args.imagePlatform),
      ephemeralStorage: { sizeInGib: args.ephemeralStorageGb },
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
      desiredCount: args.minWorkers,
      networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: false },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      enableExecuteCommand: false,
      propagateTags: 'SERVICE',
      tags,
    },
    // The autoscaler owns desiredCount after the first deployment.
    { parent, ignoreChanges: ['desiredCount'] },
  );

  // --- autoscaling: target tracking on the queue depth the workers publish ------------------------------------
  const scalingTarget = new aws.appautoscaling.Target(
    `${name}-workers`,
    {
      serviceNamespace: 'ecs',
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: pulumi.interpolate`service/${cluster.name}/${service.name}`,
      minCapacity: args.minWorkers,
      maxCapacity: args.maxWorkers,
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
      targetTrackingScalingPolicyConfiguration: pulumi
        .all([cluster.name, service.name])
        .apply(([clusterName, serviceName]) => queueDepthTracking(args.queueDepthTarget, { clusterName, serviceName })),
    },
    child,
  );

  return { cluster, service, logGroup, taskSize };
}
