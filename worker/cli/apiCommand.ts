// `code-exec api`: serves the HTTP API (api/server.ts) until SIGTERM/SIGINT, then closes and exits 0.
import { loadApiConfig } from '../../api/config.js';
import { buildApiServer } from '../../api/server.js';
import { createLogger } from '../../core/logger.js';
import { connectRedis } from '../redisConnection.js';

export async function apiCommand(): Promise<number> {
  const config = loadApiConfig();
  const log = createLogger({ component: 'api' });
  const redis = connectRedis({ url: config.redisUrl, cluster: config.redisCluster }, log, 'api');
  const server = await buildApiServer({ config, redis, log });
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  try {
    await server.listen();
    log.info('shutdown requested', { signal: await stopped });
  } finally {
    await server.close();
    redis.disconnect();
  }
  return 0;
}
