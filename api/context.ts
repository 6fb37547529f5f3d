// What every route module gets: the config, the job service, RedisClient for plain commands, the log, and the
// language catalogue. Routes never block on this connection (waits take a connection of their own).
import type { RedisClient } from '../worker/redisConnection.js';
import type { Logger } from '../core/logger.js';
import type { ApiConfig } from './config.js';
import type { JobService } from './jobs.js';
import { languageCatalogue, type LanguageEntry } from './languages.js';

export interface Caller {
  /** The owner key that scopes ids, secrets and the rate limit. */
  owner: string;
  /** What the rate limit and MAX_WAITERS_PER_TOKEN count against: the owner, or on an open API the address. */
  share: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
}

export interface ApiContext {
  config: ApiConfig;
  jobs: JobService;
  redis: RedisClient;
  log: Logger;
  /** The callback signing secret of an owner. */
  callbackSecret(owner: string): string;
  languages(): Promise<LanguageEntry[]>;
}

export function languagesFrom(redis: RedisClient): () => Promise<LanguageEntry[]> {
  return () => languageCatalogue(redis);
}
