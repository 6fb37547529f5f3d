// The gcp target's queue: Memorystore for Redis on the private services peering, with AUTH; BASIC, or STANDARD_HA
// (a replica in another zone) by config.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface RedisArgs {
  readonly project: string;
  readonly region: string;
  /** Capacity in GB. */
  readonly memoryGb: number;
  /** STANDARD_HA instead of BASIC. */
  readonly multiAz: boolean;
  readonly network: pulumi.Input<string>;
  /** The service networking peering the instance is reached over. */
  readonly peering: pulumi.Resource;
  readonly labels: Record<string, string>;
}

export interface Redis {
  readonly instance: gcp.redis.Instance;
  /** REDIS_URL, holding the AUTH string. */
  readonly url: pulumi.Output<string>;
}

export const memorystoreTier = (multiAz: boolean): 'STANDARD_HA' | 'BASIC' => (multiAz ? 'STANDARD_HA' : 'BASIC');

/** REDIS_URL of a Memorystore instance with AUTH and no in-transit TLS (see the comment in createRedis). */
export function memorystoreRedisUrl(authString: string, host: string, port: number): string {
  return `redis://:${authString}@${host}:${port}`;
}

/** Creates `<name>-redis` as a child of `parent`. */
export function createRedis(name: string, args: RedisArgs, parent: pulumi.Resource): Redis {
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
  const url = pulumi.all([instance.authString, instance.host, instance.port]).apply(([auth, host, port]) => memorystoreRedisUrl(auth, host, port));
  return { instance, url };
}
