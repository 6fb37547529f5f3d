// The aws target's queue: ElastiCache Redis (single node, or a replica with automatic failover by config; or, by
// config, cluster mode enabled: shards of a primary and replicas), TLS in transit, encrypted at rest, a generated
// auth token, in the private subnets; its rediss:// URL as a secret (in cluster mode, of the configuration endpoint,
// from which a cluster client discovers the shards).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { REDIS_PORT } from '../awsPolicies.js';
import { createSecret } from './secrets.js';

export interface RedisArgs {
  /** ElastiCache node type, e.g. cache.t4g.micro. */
  readonly nodeType: string;
  /** A replica in a second zone with automatic failover. */
  readonly multiAz: boolean;
  /** Cluster mode enabled, with these shards and replicas per shard; absent: one primary (and its replica by multiAz). */
  readonly cluster?: RedisClusterShape;
  readonly subnetIds: pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}

export interface Redis {
  readonly replicationGroup: aws.elasticache.ReplicationGroup;
  /** The address clients start from: the primary endpoint, or in cluster mode the configuration endpoint. */
  readonly endpoint: pulumi.Output<string>;
  /** The Secrets Manager secret holding REDIS_URL. */
  readonly urlSecret: aws.secretsmanager.Secret;
}

export interface RedisClusterShape {
  readonly shards: number;
  readonly replicasPerShard: number;
}

/** The parameter group ElastiCache provides for Redis 7 with cluster-enabled yes. */
export const CLUSTER_PARAMETER_GROUP = 'default.redis7.cluster.on';

/**
 * Cluster mode's shape: `shards` node groups of a primary and `replicasPerShard` replicas. ElastiCache requires
 * automatic failover in cluster mode; Multi-AZ (replicas placed in other zones) needs a replica to place.
 */
export function clusterTopology(shape: RedisClusterShape, multiAz: boolean) {
  return {
    clusterMode: 'enabled',
    parameterGroupName: CLUSTER_PARAMETER_GROUP,
    numNodeGroups: shape.shards,
    replicasPerNodeGroup: shape.replicasPerShard,
    automaticFailoverEnabled: true,
    multiAzEnabled: multiAz && shape.replicasPerShard > 0,
  };
}

/** The replication group's shape: one node, or a primary and a replica in another zone that takes over. */
export function replicationTopology(multiAz: boolean): { numCacheClusters: number; automaticFailoverEnabled: boolean; multiAzEnabled: boolean } {
  return { numCacheClusters: multiAz ? 2 : 1, automaticFailoverEnabled: multiAz, multiAzEnabled: multiAz };
}

/** REDIS_URL for ElastiCache with TLS and an auth token (no user name: the default user). */
export function elasticacheRedisUrl(authToken: string, host: string): string {
  return `rediss://:${authToken}@${host}:${REDIS_PORT}`;
}

/** Creates `<name>-redis` (and its token, subnet group and URL secret) as children of `parent`. */
export function createRedis(name: string, args: RedisArgs, parent: pulumi.Resource): Redis {
  const child = { parent };
  const token = new random.RandomPassword(`${name}-redis-token`, { length: 48, special: false }, child);
  const subnetGroup = new aws.elasticache.SubnetGroup(`${name}-redis`, { subnetIds: args.subnetIds, description: 'code-execution Redis' }, child);
  const replicationGroup = new aws.elasticache.ReplicationGroup(
    `${name}-redis`,
    {
      description: 'code-execution job queue',
      engine: 'redis',
      engineVersion: '7.1',
      nodeType: args.nodeType,
      port: REDIS_PORT,
      ...(args.cluster ? clusterTopology(args.cluster, args.multiAz) : replicationTopology(args.multiAz)),
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: token.result,
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [args.securityGroupId],
      snapshotRetentionLimit: 1,
      applyImmediately: true,
      tags: args.tags,
    },
    child,
  );
  const endpoint = args.cluster ? replicationGroup.configurationEndpointAddress : replicationGroup.primaryEndpointAddress;
  const urlSecret = createSecret(
    name,
    'redis-url',
    {
      description: 'REDIS_URL of the code-execution workers and API (ElastiCache, TLS, auth token)',
      value: pulumi.all([token.result, endpoint]).apply(([t, host]) => elasticacheRedisUrl(t, host)),
      tags: args.tags,
    },
    parent,
  );
  return { replicationGroup, endpoint, urlSecret };
}
