// Redis connections that survive Redis restarts and, with REDIS_CLUSTER=true, a Redis Cluster's failovers:
// reconnect with capped backoff, say so in the log, and let commands wait for the connection instead of
// failing the job. Every key a command or script touches at once shares a hash slot (core/keys.ts), so callers
// do not care which kind of client they hold.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../core/logger.js';

/** A single Redis node or a Redis Cluster: the same commands, routed by key on a cluster. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a node's URL, or with `cluster` the URL of any node (or the configuration endpoint) of a cluster. */
export interface RedisTarget {
  url: string;
  cluster: boolean;
}

/** Reads REDIS_CLUSTER the way every command does: only the exact string "true" turns it on. */
export function clusterFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.REDIS_CLUSTER === 'true';
}

type Retry = (times: number) => number | null;

/** A client for the target; `retry` decides reconnection (null: give up), `options` tune the node connections. */
export function createRedisClient(target: RedisTarget, retry: Retry, options: RedisOptions = {}): RedisClient {
  return target.cluster ? createClusterClient(target.url, retry, options) : new Redis(target.url, { ...options, retryStrategy: retry });
}

/** A cluster client that finds the cluster from the node at `url`. */
export function createClusterClient(url: string, retry: Retry, options: RedisOptions = {}): Cluster {
  const u = new URL(url);
  if (!['', '/', '/0'].includes(u.pathname)) throw new Error(`a Redis Cluster has only database 0; REDIS_URL names ${u.pathname.slice(1)}`);
  const tls = u.protocol === 'rediss:';
  return new Cluster([{ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) }], {
    clusterRetryStrategy: retry,
    lazyConnect: options.lazyConnect,
    enableReadyCheck: options.enableReadyCheck ?? true,
    // A master that dies is replaced after the cluster's node timeout (15 s on ElastiCache and Memorystore): a
    // command keeps being retried through it (64 × 500 ms) instead of failing the job after ioredis's 1.6 s.
    retryDelayOnFailover: 500,
    retryDelayOnClusterDown: 500,
    retryDelayOnTryAgain: 500,
    maxRedirections: 64,
    // Managed clusters (ElastiCache, Memorystore) answer CLUSTER SLOTS with names their TLS certificates are
    // for: connect to those names, not to addresses resolved from them.
    ...(tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
    redisOptions: {
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      ...(tls ? { tls: {} } : {}),
    },
  });
}

export function connectRedis(target: RedisTarget, log: Logger, role: string): RedisClient {
  let failures = 0;
  // Set from the first retry until the connection is ready again, so every outage logged also logs its end
  // (a restart quick enough for the first retry to succeed raises no 'error' event).
  let reconnecting = false;
  const redis = createRedisClient(target, (times) => {
    reconnecting = true;
    const delayMs = Math.min(100 * 2 ** Math.min(times, 6), 5000);
    log.warn('redis unreachable, retrying', { role, attempt: times, retryInMs: delayMs, redis: redactedUrl(target.url), cluster: target.cluster });
    return delayMs;
  }, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  const onError = (err: Error) => {
    if (failures++ % 20 === 0) log.warn('redis connection error', { role, error: err.message });
  };
  redis.on('error', onError);
  // A cluster's connection to one of its nodes fails on its own event.
  if (target.cluster) redis.on('node error', onError);
  redis.on('ready', () => {
    if (reconnecting || failures > 0) log.info('redis connection restored', { role });
    reconnecting = false;
    failures = 0;
  });
  return redis;
}

/** A second client to the same target, for a caller that blocks (XREAD BLOCK holds its connection). */
export function duplicateClient(redis: RedisClient): RedisClient {
  // A cluster's copy starts from the nodes known now, not from REDIS_URL's one node, which may be the one that died.
  const copy = redis instanceof Cluster ? redis.duplicate(clusterNodesOf(redis)) : redis.duplicate();
  copy.on('error', () => {});
  return copy;
}

function clusterNodesOf(cluster: Cluster): { host: string; port: number }[] | undefined {
  const nodes = cluster.nodes().map((n) => ({ host: n.options.host ?? '127.0.0.1', port: n.options.port ?? 6379 }));
  return nodes.length ? nodes : undefined;
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'invalid-url';
  }
}
