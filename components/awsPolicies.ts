// What the aws target's tasks may do and reach: IAM policy documents and security-group rules, as plain data.
// Pure, so the least-privilege claims are unit-tested on the documents themselves; components/aws/ only turns
// them into resources.
import { API_PORT, QUEUE_DEPTH_METRIC } from './workerEnv.js';

export const REDIS_PORT = 6379;
export const POSTGRES_PORT = 5432;
export const HTTPS_PORT = 443;
export const HTTP_PORT = 80;

/**
 * Interface endpoints the private subnets need instead of a route to the internet: image pulls (ecr.api, ecr.dkr;
 * the layers come from S3 through the gateway endpoint), the awslogs driver (logs), the task's `secrets`
 * (secretsmanager) and the worker's queue metrics (monitoring = CloudWatch PutMetricData).
 */
export const INTERFACE_ENDPOINT_SERVICES = ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'monitoring'] as const;

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: {
    Sid?: string;
    Effect: 'Allow' | 'Deny';
    Principal?: Record<string, string | string[]> | '*';
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }[];
}

/** Who may assume the task and execution roles: ECS tasks only. */
export function ecsTasksAssumeRolePolicy(): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
}

/**
 * The worker's own permissions: read objects of the code bucket, publish metrics in its namespace. Nothing else.
 * s3:ListBucket on the bucket makes S3 answer a missing key with 404 (without it, 403 AccessDenied, so as not to say
 * whether the key exists): the worker rejects a job whose code object is missing, and retries a 403 as S3's fault.
 */
export function taskRolePolicy(bucketArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadCode', Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${bucketArn}/*` },
      { Sid: 'TellMissingCode', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: bucketArn },
      {
        Sid: 'PublishQueueMetrics',
        Effect: 'Allow',
        Action: ['cloudwatch:PutMetricData'],
        // PutMetricData has no resource ARN; the namespace condition is what scopes it.
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': QUEUE_DEPTH_METRIC.namespace } },
      },
    ],
  };
}

/** What ECS itself needs beyond the managed execution policy (image pull, logs): read exactly these secrets. */
export function executionRoleSecretsPolicy(secretArns: string[]): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Sid: 'InjectSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [...secretArns].sort() }],
  };
}

/** Only TLS requests reach the bucket (a Deny, so it holds whatever else grants access). */
export function bucketTlsOnlyPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}

/** The network's groups (network.ts creates them); the API's two (api.ts) are ApiSecurityGroupName. */
export type SecurityGroupName = 'worker' | 'redis' | 'database' | 'endpoints';
export type ApiSecurityGroupName = 'api' | 'alb';

export interface SecurityGroupRule {
  /** The group the rule belongs to. */
  group: SecurityGroupName | ApiSecurityGroupName;
  direction: 'ingress' | 'egress';
  port: number;
  /** The other side: another of our groups, the S3 gateway endpoint's prefix list, or an address range (named). */
  peer: { group: SecurityGroupName | ApiSecurityGroupName } | { prefixList: 's3' } | { cidr: string; label: 'vpc' | 'internet' };
  description: string;
}

/**
 * Every rule of the four security groups. Groups start with no rule at all (the provider removes AWS's default
 * allow-all egress), so this list is the whole network story: workers reach Redis, PostgreSQL and the AWS endpoints
 * on their ports and nothing else; nothing reaches the workers. The runner sidecar shares the task's network
 * interface, so the same rules bound it (and the subnets have no route to the internet at all).
 */
export function securityGroupRules(): SecurityGroupRule[] {
  return [
    { group: 'worker', direction: 'egress', port: REDIS_PORT, peer: { group: 'redis' }, description: 'Redis (ElastiCache, TLS)' },
    { group: 'worker', direction: 'egress', port: POSTGRES_PORT, peer: { group: 'database' }, description: 'PostgreSQL (RDS)' },
    { group: 'worker', direction: 'egress', port: HTTPS_PORT, peer: { group: 'endpoints' }, description: 'AWS interface endpoints' },
    { group: 'worker', direction: 'egress', port: HTTPS_PORT, peer: { prefixList: 's3' }, description: 'S3 through the gateway endpoint' },
    { group: 'redis', direction: 'ingress', port: REDIS_PORT, peer: { group: 'worker' }, description: 'from workers' },
    { group: 'database', direction: 'ingress', port: POSTGRES_PORT, peer: { group: 'worker' }, description: 'from workers' },
    { group: 'endpoints', direction: 'ingress', port: HTTPS_PORT, peer: { group: 'worker' }, description: 'from workers' },
  ];
}

export interface ApiNetworkInput {
  /** The load balancer faces the internet (else only the VPC reaches it). */
  public: boolean;
  /** The ports its listeners take (apiListenerPorts). */
  listenerPorts: readonly number[];
  /** The VPC's range: who may reach an internal load balancer. */
  vpcCidr: string;
}

/** HTTPS on 443 with a certificate (and 80, which only redirects to it); plain HTTP on 80 without one. */
export function apiListenerPorts(tls: boolean): number[] {
  return tls ? [HTTPS_PORT, HTTP_PORT] : [HTTP_PORT];
}

/**
 * The API's rules, on top of securityGroupRules(): clients reach the load balancer on its listener ports (from the
 * internet, or from the VPC only), the load balancer reaches only the API tasks, and the API tasks accept only the
 * load balancer and reach only Redis and the endpoints they start with (image pull from ECR and S3, logs,
 * secrets). Redis and the endpoints admit the API's group.
 */
export function apiSecurityGroupRules(input: ApiNetworkInput): SecurityGroupRule[] {
  const clients = input.public ? ({ cidr: '0.0.0.0/0', label: 'internet' } as const) : ({ cidr: input.vpcCidr, label: 'vpc' } as const);
  return [
    ...input.listenerPorts.map((port): SecurityGroupRule => ({ group: 'alb', direction: 'ingress', port, peer: clients, description: `API clients (${clients.label})` })),
    { group: 'alb', direction: 'egress', port: API_PORT, peer: { group: 'api' }, description: 'the API tasks' },
    { group: 'api', direction: 'ingress', port: API_PORT, peer: { group: 'alb' }, description: 'from the API load balancer' },
    { group: 'api', direction: 'egress', port: REDIS_PORT, peer: { group: 'redis' }, description: 'Redis (ElastiCache, TLS)' },
    { group: 'api', direction: 'egress', port: HTTPS_PORT, peer: { group: 'endpoints' }, description: 'AWS interface endpoints' },
    { group: 'api', direction: 'egress', port: HTTPS_PORT, peer: { prefixList: 's3' }, description: 'image layers from S3 through the gateway endpoint' },
    { group: 'redis', direction: 'ingress', port: REDIS_PORT, peer: { group: 'api' }, description: 'from the API' },
    { group: 'endpoints', direction: 'ingress', port: HTTPS_PORT, peer: { group: 'api' }, description: 'from the API' },
  ];
}
