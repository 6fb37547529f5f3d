// The aws target's HTTP API: `code-exec api` from the worker image as its own ECS Fargate service in the private
// subnets, behind an Application Load Balancer (internal by default; internet-facing with HTTPS by config), its
// tokens and callback signing key from Secrets Manager, autoscaling by target tracking on CPU. Its security groups
// let clients reach only the load balancer, the load balancer only the API tasks, and the tasks only Redis and the
// AWS endpoints they start with (awsPolicies.ts apiSecurityGroupRules).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { apiListenerPorts, apiSecurityGroupRules, HTTP_PORT, HTTPS_PORT, type ApiSecurityGroupName } from '../awsPolicies.js';
import { API_TMP_VOLUME, apiContainerDefinitions, cpuUnits, ecsRuntimePlatform, fargateTaskSize } from '../ecsContainers.js';
import type { CloudImagePlatform } from '../stackConfig.js';
import { API_PORT, apiEnvironment } from '../workerEnv.js';
import { createExecutionRole } from './executionRole.js';
import { createSecurityGroupRules, type SecurityGroups } from './network.js';
import { createSecret } from './secrets.js';

export interface ApiArgs {
  readonly region: string;
  /** Tasks the autoscaler keeps between; apiMinReplicas is also the first deployment's count. */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Average CPU utilization (percent) target tracking aims for. */
  readonly cpuTargetPercent: number;
  /** Millicores and MB of the API container (the task is the smallest Fargate size that holds it). */
  readonly cpuMillis: number;
  readonly memoryMb: number;
  /** The load balancer faces the internet (needs certificateArn). */
  readonly public: boolean;
  /** The ACM certificate of the HTTPS listener; empty: plain HTTP on 80, internal only. */
  readonly certificateArn: string;
  /** The accepted tokens, comma separated (a secret); absent: one is generated. */
  readonly tokens?: pulumi.Input<string>;
  readonly redisCluster: boolean;
  readonly logRetentionDays: number;
  readonly image: pulumi.Input<string>;
  /** The platform its image was built for: the task's runtimePlatform. */
  readonly imagePlatform: CloudImagePlatform;
  readonly vpc: Pick<aws.ec2.Vpc, 'id'>;
  readonly vpcCidr: string;
  /** The tasks' subnets (private), and the load balancer's (public ones when `public`). */
  readonly subnetIds: pulumi.Input<string>[];
  readonly loadBalancerSubnetIds: pulumi.Input<string>[];
  /** The network's groups the API's rules name (redis, endpoints) and the S3 prefix list. */
  readonly securityGroups: SecurityGroups;
  readonly s3PrefixListId: pulumi.Input<string>;
  /** The ECS cluster the workers run in. */
  readonly cluster: Pick<aws.ecs.Cluster, 'arn' | 'name'>;
  /** The REDIS_URL secret the workers read too. */
  readonly redisUrlSecret: Pick<aws.secretsmanager.Secret, 'arn'>;
  readonly tags: Record<string, string>;
}

export interface Api {
  readonly service: aws.ecs.Service;
  readonly loadBalancer: aws.lb.LoadBalancer;
  /** http(s)://<the load balancer's DNS name> */
  readonly url: pulumi.Output<string>;
  /** The Secrets Manager secret holding API_TOKENS (read it to call the API). */
  readonly tokensSecret: aws.secretsmanager.Secret;
}

/** Refuses what cannot be deployed as asked: an internet-facing API without HTTPS. */
export function validateApiArgs(where: string, args: Pick<ApiArgs, 'public' | 'certificateArn' | 'minReplicas' | 'maxReplicas'>): void {
  if (args.public && !args.certificateArn) {
    throw new Error(`${where}: apiPublic is true but apiCertificateArn is not set; an internet-facing API needs HTTPS (an ACM certificate ARN)`);
  }
  if (args.minReplicas < 1 || args.minReplicas > args.maxReplicas) {
    throw new Error(`${where}: apiMinReplicas (${args.minReplicas}) must be >= 1 and <= apiMaxReplicas (${args.maxReplicas})`);
  }
}

/** Target tracking on the service's average CPU: out fast (60 s), in slowly (300 s: waits and streams are long). */
export function cpuTracking(targetValue: number): aws.types.input.appautoscaling.PolicyTargetTrackingScalingPolicyConfiguration {
  return {
    targetValue,
    scaleOutCooldown: 60,
    scaleInCooldown: 300,
    predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' },
  };
}

/** Creates the API's groups, secrets, role, log group, load balancer, `<name>-api` service and its scaling under `parent`. */
export function createApi(name: string, args: ApiArgs, parent: pulumi.Resource): Api {
  validateApiArgs(`createApi ${name}`, args);
  const child = { parent };
  const { tags } = args;
  const tls = args.certificateArn !== '';

  // --- security groups: clients -> load balancer -> API tasks -> Redis (and the endpoints) ----------------------
  const groups: Record<ApiSecurityGroupName, aws.ec2.SecurityGroup> = {
    alb: new aws.ec2.SecurityGroup(`${name}-alb`, { vpcId: args.vpc.id, description: 'code-execution API load balancer', tags }, child),
    api: new aws.ec2.SecurityGroup(`${name}-api`, { vpcId: args.vpc.id, description: 'code-execution API tasks', tags }, child),
  };
  createSecurityGroupRules(
    name,
    apiSecurityGroupRules({ public: args.public, listenerPorts: apiListenerPorts(tls), vpcCidr: args.vpcCidr }),
    { ...args.securityGroups, ...groups },
    args.s3PrefixListId,
    parent,
  );

  // --- secrets: the tokens (given or generated) and the callback signing key (generated) ----------------------
  const tokens = args.tokens ?? new random.RandomPassword(`${name}-api-token`, { length: 40, special: false }, child).result;
  const tokensSecret = createSecret(name, 'api-tokens', { description: 'API_TOKENS of the code-execution API', value: tokens, tags }, parent);
  const signingKey = new random.RandomPassword(`${name}-callback-signing-key`, { length: 48, special: false }, child);
  const signingKeySecret = createSecret(
    name,
    'callback-signing-key',
    { description: 'CALLBACK_SIGNING_KEY of the code-execution API (callback HMACs)', value: signingKey.result, tags },
    parent,
  );
  const secrets = { REDIS_URL: args.redisUrlSecret, API_TOKENS: tokensSecret, CALLBACK_SIGNING_KEY: signingKeySecret };

  // --- the task: the API container, its execution role reading exactly its secrets, its logs ------------------
  const executionRole = createExecutionRole(`${name}-api`, Object.values(secrets), tags, parent);
  const logGroup = new aws.cloudwatch.LogGroup(`${name}-api`, { retentionInDays: args.logRetentionDays, tags }, child);
  const taskSize = fargateTaskSize(cpuUnits(args.cpuMillis), args.memoryMb);
  const containerDefinitions = pulumi
    .all([args.image, logGroup.name, secrets.REDIS_URL.arn, secrets.API_TOKENS.arn, secrets.CALLBACK_SIGNING_KEY.arn])
    .apply(([image, logGroupName, redisUrl, apiTokens, signingKeyArn]) =>
      JSON.stringify(
        apiContainerDefinitions({
          image,
          env: apiEnvironment({ redisCluster: args.redisCluster }),
          secrets: { REDIS_URL: redisUrl, API_TOKENS: apiTokens, CALLBACK_SIGNING_KEY: signingKeyArn },
          logGroup: logGroupName,
          region: args.region,
        }),
      ),
    );
  const taskDefinition = new aws.ecs.TaskDefinition(
    `${name}-api`,
    {
      family: `${name}-api`,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: String(taskSize.cpu),
      memory: String(taskSize.memory),
      runtimePlatform: ecsRuntimePlatform(args.imagePlatform),
      executionRoleArn: executionRole.arn,
      // No task role: the API calls no AWS API.
      volumes: [{ name: API_TMP_VOLUME }],
      containerDefinitions,
      tags,
    },
    child,
  );

  // --- the load balancer: listeners, and the target group of the API tasks' IPs, healthy when /readyz is -------
  const loadBalancer = new aws.lb.LoadBalancer(
    `${name}-api`,
    {
      loadBalancerType: 'application',
      internal: !args.public,
      subnets: args.loadBalancerSubnetIds,
      securityGroups: [groups.alb.id],
      dropInvalidHeaderFields: true,
      // Long enough for a ?wait of MAX_WAIT_SECONDS (60 s) and for event streams between their keep-alives.
      idleTimeout: 120,
      tags,
    },
    child,
  );
  const targetGroup = new aws.lb.TargetGroup(
    `${name}-api`,
    {
      vpcId: args.vpc.id,
      targetType: 'ip',
      protocol: 'HTTP',
      port: API_PORT,
      deregistrationDelay: 30,
      healthCheck: { path: '/readyz', port: 'traffic-port', protocol: 'HTTP', matcher: '200', interval: 15, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
      tags,
    },
    child,
  );
  const forward = [{ type: 'forward', targetGroupArn: targetGroup.arn }];
  const listeners = tls
    ? [
        new aws.lb.Listener(
          `${name}-api-https`,
          {
            loadBalancerArn: loadBalancer.arn,
            port: HTTPS_PORT,
            protocol: 'HTTPS',
            certificateArn: args.certificateArn,
            sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
            defaultActions: forward,
            tags,
          },
          child,
        ),
        // Port 80 only redirects: no token ever crosses in clear text.
        new aws.lb.Listener(
          `${name}-api-http`,
          {
            loadBalancerArn: loadBalancer.arn,
            port: HTTP_PORT,
            protocol: 'HTTP',
            defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: String(HTTPS_PORT), statusCode: 'HTTP_301' } }],
            tags,
          },
          child,
        ),
      ]
    : [new aws.lb.Listener(`${name}-api-http`, { loadBalancerArn: loadBalancer.arn, port: HTTP_PORT, protocol: 'HTTP', defaultActions: forward, tags }, child)];

  // --- the service, in the private subnets, registered in the target group ------------------------------------
  const service = new aws.ecs.Service(
    `${name}-api`,
    {
      cluster: args.cluster.arn,
      taskDefinition: taskDefinition.arn,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      desiredCount: args.minReplicas,
      networkConfiguration: { subnets: args.subnetIds, securityGroups: [groups.api.id], assignPublicIp: false },
      loadBalancers: [{ targetGroupArn: targetGroup.arn, containerName: 'api', containerPort: API_PORT }],
      healthCheckGracePeriodSeconds: 30,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      enableExecuteCommand: false,
      propagateTags: 'SERVICE',
      tags,
    },
    // The autoscaler owns desiredCount after the first deployment; the target group must be behind a listener first.
    { parent, dependsOn: listeners, ignoreChanges: ['desiredCount'] },
  );
  const scalingTarget = new aws.appautoscaling.Target(
    `${name}-api`,
    {
      serviceNamespace: 'ecs',
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: pulumi.interpolate`service/${args.cluster.name}/${service.name}`,
      minCapacity: args.minReplicas,
      maxCapacity: args.maxReplicas,
    },
    child,
  );
  new aws.appautoscaling.Policy(
    `${name}-api-cpu`,
    {
      policyType: 'TargetTrackingScaling',
      serviceNamespace: scalingTarget.serviceNamespace,
      scalableDimension: scalingTarget.scalableDimension,
      resourceId: scalingTarget.resourceId,
      targetTrackingScalingPolicyConfiguration: cpuTracking(args.cpuTargetPercent),
    },
    child,
  );

  const url = pulumi.interpolate`${tls ? 'https' : 'http'}://${loadBalancer.dnsName}`;
  return { service, loadBalancer, url, tokensSecret };
}
