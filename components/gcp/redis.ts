// The gcp target's queue: Memorystore for Redis on the private services peering, with AUTH; BASIC, or STANDARD_HA
// (a replica in another zone) by config. Or, by config, Memorystore for Redis Cluster: shards and replicas reached
// through Private Service Connect endpoints in a subnet of their own, which a service connection policy lets
// Memorystore create there.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { REDIS_PORT } from '../awsPolicies.js';
import type { RedisReach } from '../kubernetesSpecs.js';

export interface RedisArgs {
  readonly project: string;
  readonly region: string;
  /** Capacity in GB (the single instance; a cluster's is its shards' node type times their count). */
  readonly memoryGb: number;
  /** STANDARD_HA instead of BASIC (a cluster spreads its nodes over zones either way). */
  readonly multiAz: boolean;
  /** Memorystore for Redis Cluster with these shards and replicas per shard; absent: one instance. */
  readonly cluster?: { readonly shards: number; readonly replicasPerShard: number };
  readonly network: pulumi.Input<string>;
  /** The service networking peering the instance is reached over. */
  readonly peering: pulumi.Resource;
  readonly labels: Record<string, string>;
}

export interface Redis {
  /** REDIS_URL (holding the AUTH string of a single instance). */
  readonly url: pulumi.Output<string>;
  /** The address clients start from (the instance, or the cluster's discovery endpoint). */
  readonly host: pulumi.Output<string>;
  /** Where the pods may reach it: the NetworkPolicies' Redis rule. */
  readonly reach: pulumi.Output<RedisReach>;
}

export const memorystoreTier = (multiAz: boolean): 'STANDARD_HA' | 'BASIC' => (multiAz ? 'STANDARD_HA' : 'BASIC');

/** REDIS_URL of a Memorystore instance with AUTH and no in-transit TLS (see the comment in createRedis). */
export function memorystoreRedisUrl(authString: string, host: string, port: number): string {
  return `redis://:${authString}@${host}:${port}`;
}

/**
 * The subnet Memorystore for Redis Cluster's PSC endpoints get their addresses from (after the nodes' 10.50.0.0/20).
 * Its clients first reach the discovery endpoint on 6379, then the shards' nodes on 11000-13047 of the same endpoints.
 */
export const REDIS_CLUSTER_PSC_SUBNET = '10.50.16.0/24';
export const REDIS_CLUSTER_PORTS = [{ port: REDIS_PORT }, { port: 11000, endPort: 13047 }] as const;
/** Memorystore for Redis Cluster's own default node type (about 13 GB per node). */
export const REDIS_CLUSTER_NODE_TYPE = 'REDIS_HIGHMEM_MEDIUM';

/** Where a single instance is reached: its address alone, on its port. */
export function instanceReach(host: string, port: number): RedisReach {
  return { cidr: `${host}/32`, ports: [{ port }] };
}

/** Where a cluster is reached: its PSC subnet, on the discovery and node ports. */
export function clusterReach(): RedisReach {
  return { cidr: REDIS_CLUSTER_PSC_SUBNET, ports: REDIS_CLUSTER_PORTS.map((p) => ({ ...p })) };
}

/** Creates `<name>-redis` (and, for a cluster, its PSC subnet and service connection policy) under `parent`. */
export function createRedis(name: string, args: RedisArgs, parent: pulumi.Resource): Redis {
  return args.cluster ? createCluster(name, args, args.cluster, parent) : createInstance(name, args, parent);
}

function createInstance(name: string, args: RedisArgs, parent: pulumi.Resource): Redis {
  const instance = new gcp.redis.Instance(
    `${name}-redis`,
    {
      project: args.project,
      region: args.region,
      tier: memorystoreTier(args.multiAz),
      memorySizeGb: args.memoryGb,
      redisVersion: 'REDIS_7_2',
      authorizedNetwork: args.network,
      connectMode: 'PRIVATE_SERVICE_ACCESS',
      authEnabled: true,
      // In-transit TLS would need Memorystore's own CA in the worker; see README (traffic stays on the private
      // peering, and the instance refuses clients without the AUTH string).
      transitEncryptionMode: 'DISABLED',
      labels: args.labels,
    },
    { parent, dependsOn: [args.peering] },
  );
  return {
    url: pulumi.all([instance.authString, instance.host, instance.port]).apply(([auth, host, port]) => memorystoreRedisUrl(auth, host, port)),
    host: instance.host,
    reach: pulumi.all([instance.host, instance.port]).apply(([host, port]) => instanceReach(host, port)),
  };
}

function createCluster(name: string, args: RedisArgs, shape: NonNullable<RedisArgs['cluster']>, parent: pulumi.Resource): Redis {
  const child = { parent };
  const subnet = new gcp.compute.Subnetwork(
    `${name}-redis-psc`,
    { project: args.project, region: args.region, network: args.network, ipCidrRange: REDIS_CLUSTER_PSC_SUBNET, privateIpGoogleAccess: true },
    child,
  );
  const policy = new gcp.networkconnectivity.ServiceConnectionPolicy(
    `${name}-redis`,
    {
      project: args.project,
      location: args.region,
      serviceClass: 'gcp-memorystore-redis',
      description: 'code-execution Memorystore for Redis Cluster endpoints',
      network: args.network,
      pscConfig: { subnetworks: [subnet.id] },
    },
    child,
  );
  const cluster = new gcp.redis.Cluster(
    `${name}-redis`,
    {
      project: args.project,
      region: args.region,
      shardCount: shape.shards,
      replicaCount: shape.replicasPerShard,
      nodeType: REDIS_CLUSTER_NODE_TYPE,
      pscConfigs: [{ network: args.network }],
      // Memorystore for Redis Cluster has no AUTH string (IAM tokens or nothing) and its TLS needs its own CA in
      // the clients: the NetworkPolicies are what keep other pods off it (README).
      authorizationMode: 'AUTH_MODE_DISABLED',
      transitEncryptionMode: 'TRANSIT_ENCRYPTION_MODE_DISABLED',
      zoneDistributionConfig: { mode: 'MULTI_ZONE' },
      labels: args.labels,
    },
    { parent, dependsOn: [policy] },
  );
  const endpoint = cluster.discoveryEndpoints.apply((endpoints) => {
    const first = endpoints[0];
    return { host: first?.address ?? '', port: first?.port ?? REDIS_PORT };
  });
  return {
    url: endpoint.apply(({ host, port }) => `redis://${host}:${port}`),
    host: endpoint.apply(({ host }) => host),
    reach: pulumi.output(clusterReach()),
  };
}
