// Redis connections that survive Redis restarts: reconnect with capped backoff, say so in the log, and
// let commands wait for the connection instead of failing the job.
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export function connectRedis(url: string, log: Logger, role: string): Redis {
  let failures = 0;
  // Set from the first retry until the connection is ready again, so every outage logged also logs its end
  // (a restart quick enough for the first retry to succeed raises no 'error' event).
  let reconnecting = false;
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    retryStrategy(times) {
      reconnecting = true;
      const delayMs = Math.min(100 * 2 ** Math.min(times, 6), 5000);
      log.warn('redis unreachable, retrying', { role, attempt: times, retryInMs: delayMs, redis: redactedUrl(url) });
      return delayMs;
    },
  });
  redis.on('error', (err) => {
    if (failures++ % 20 === 0) log.warn('redis connection error', { role, error: err.message });
  });
  redis.on('ready', () => {
    if (reconnecting || failures > 0) log.info('redis connection restored', { role });
    reconnecting = false;
    failures = 0;
  });
  return redis;
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
