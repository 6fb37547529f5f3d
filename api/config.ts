// The API service's configuration, from the environment, validated once at start like the worker's: every
// problem listed with the variable's name and what it must be.
import { z } from 'zod';
import type { OperatorCaps } from '../core/protocol/limits.js';
import { bool, EnvConfigError, int, optional, readCaps } from '../worker/envConfig.js';
import { DEFAULT_CONSUMER_GROUP, DEFAULT_REDIS_URL, DEFAULT_STREAM_KEY } from '../core/keys.js';

const envSchema = z.object({
  API_PORT: int(0).max(65535, 'must be a port number (0: any free port)').default(2358),
  API_HOST: z.string().min(1).default('0.0.0.0'),
  REDIS_URL: z.string().url(`must be a URL like ${DEFAULT_REDIS_URL}`).default(DEFAULT_REDIS_URL),
  REDIS_CLUSTER: bool.default('false'),
  STREAM_KEY: z.string().min(1).default(DEFAULT_STREAM_KEY),
  CONSUMER_GROUP: z.string().min(1).default(DEFAULT_CONSUMER_GROUP),
  API_TOKENS: optional(z.string()),
  RATE_LIMIT_PER_MINUTE: int(0).default(600),
  MAX_QUEUE_SIZE: int(1).default(100),
  BODY_LIMIT_BYTES: int(1024).default(8 << 20),
  MAX_WAIT_SECONDS: int(1).default(60),
  MAX_WAITERS: int(1).default(1000),
  MAX_WAITERS_PER_TOKEN: optional(int(1)),
  RESULT_TTL_SECONDS: int(1).default(86_400),
  MAX_BATCH_SIZE: int(1).max(1000, 'must be at most 1000').default(20),
  CALLBACK_ALLOW_PRIVATE: bool.default('false'),
  CALLBACK_SIGNING_KEY: optional(z.string().min(16, 'must be at least 16 characters')),
  CALLBACK_TIMEOUT_MS: int(100).default(5000),
  CALLBACK_MAX_TRIES: int(1).max(10, 'must be at most 10').default(3),
  CALLBACK_RETRY_BASE_MS: int(1).default(1000),
  CALLBACK_CONCURRENCY: int(1).default(32),
  CALLBACK_ORPHAN_IDLE_MS: int(1000).default(60_000),
});

export interface ApiConfig {
  port: number;
  host: string;
  redisUrl: string;
  /** REDIS_URL is a node (or the configuration endpoint) of a Redis Cluster. */
  redisCluster: boolean;
  streamKey: string;
  consumerGroup: string;
  /** Accepted tokens; empty: the API is open (as Judge0 is by default). */
  tokens: string[];
  /** Requests per token per minute; 0: no limit. */
  rateLimitPerMinute: number;
  /** Jobs waiting or running (the stream's lag plus pending) over which submissions get 503. */
  maxQueueSize: number;
  bodyLimitBytes: number;
  maxWaitSeconds: number;
  /** Blocking waits (wait, SSE, Piston execute) at once, each holding a Redis connection. */
  maxWaiters: number;
  /** Of those, one token's (on an open API, one address's); at most maxWaiters. */
  maxWaitersPerToken: number;
  /** How long the API's id mappings and job records live (as long as results do). */
  resultTtlSeconds: number;
  maxBatchSize: number;
  callbackAllowPrivate: boolean;
  /** Key from which each token's callback signing secret is derived; null: a random one per process. */
  callbackSigningKey: string | null;
  callbackTimeoutMs: number;
  callbackMaxTries: number;
  callbackRetryBaseMs: number;
  /** Deliveries in flight at once per replica. */
  callbackConcurrency: number;
  /** A replica that has not read the callback stream for this long is gone: its entries are adopted. */
  callbackOrphanIdleMs: number;
  /** The same operator caps, from the same variables, as the workers enforce. */
  caps: OperatorCaps;
}

export class ApiConfigError extends EnvConfigError {
  constructor(problems: string[]) {
    super('API', problems);
    this.name = 'ApiConfigError';
  }
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const name = String(i.path[0]);
      // Tokens and keys are secrets: name the variable, never quote it.
      const shown = /TOKENS|KEY$/.test(name) ? '(hidden)' : JSON.stringify(env[name]);
      problems.push(`${name}=${shown}: ${i.message}`);
    }
  }
  const caps = readCaps(env, problems);
  const tokens = (env.API_TOKENS ?? '').split(/[\s,]+/).filter(Boolean);
  if (tokens.some((t) => t.length < 8)) problems.push('API_TOKENS: every token must be at least 8 characters');
  if (parsed.success && parsed.data.MAX_WAITERS_PER_TOKEN !== undefined && parsed.data.MAX_WAITERS_PER_TOKEN > parsed.data.MAX_WAITERS) {
    problems.push(`MAX_WAITERS_PER_TOKEN=${parsed.data.MAX_WAITERS_PER_TOKEN}: must be at most MAX_WAITERS (${parsed.data.MAX_WAITERS})`);
  }
  if (problems.length || !parsed.success) throw new ApiConfigError(problems);
  const e = parsed.data;
  return {
    port: e.API_PORT,
    host: e.API_HOST,
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER === 'true',
    streamKey: e.STREAM_KEY,
    consumerGroup: e.CONSUMER_GROUP,
    tokens,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    maxQueueSize: e.MAX_QUEUE_SIZE,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    maxWaitSeconds: e.MAX_WAIT_SECONDS,
    maxWaiters: e.MAX_WAITERS,
    // A tenth of all slots by default: one token cannot starve the others.
    maxWaitersPerToken: e.MAX_WAITERS_PER_TOKEN ?? Math.max(1, Math.ceil(e.MAX_WAITERS / 10)),
    resultTtlSeconds: e.RESULT_TTL_SECONDS,
    maxBatchSize: e.MAX_BATCH_SIZE,
    callbackAllowPrivate: e.CALLBACK_ALLOW_PRIVATE === 'true',
    callbackSigningKey: e.CALLBACK_SIGNING_KEY ?? null,
    callbackTimeoutMs: e.CALLBACK_TIMEOUT_MS,
    callbackMaxTries: e.CALLBACK_MAX_TRIES,
    callbackRetryBaseMs: e.CALLBACK_RETRY_BASE_MS,
    callbackConcurrency: e.CALLBACK_CONCURRENCY,
    callbackOrphanIdleMs: e.CALLBACK_ORPHAN_IDLE_MS,
    caps,
  };
}
