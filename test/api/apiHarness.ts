// The API suites' fixture: a real Redis for the file, a queue of its own per test with real `code-exec worker`
// processes (process runner mode: the sandbox supervisor, no Docker), and the API service listening on a free loopback
// port in this process, reached over real HTTP. Everything is stopped after each test and nothing may be left.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { buildApiServer, type ApiServer } from '../../api/server.js';
import type { CallbackEvents } from '../../api/callbacks.js';
import { TestQueue, workerStarted } from '../support/jobQueue.js';
import { ON_CLUSTER } from '../support/queueSuite.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { recordingLogger, type RecordingLogger } from '../support/recordingLogger.js';
import { startRedisCluster, type TestCluster } from '../support/redisCluster.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { createRedisClient, type RedisClient } from '../../worker/redisConnection.js';

export interface RunningApi {
  url: string;
  server: ApiServer;
  queue: TestQueue;
  log: RecordingLogger;
  redis: RedisClient;
}

export interface ApiSuite {
  readonly redis: TestRedis | TestCluster;
  /** An API (env: its variables) on a fresh queue; with `workers` that many process-mode workers, started. */
  start(opts?: { env?: Record<string, string>; workers?: number; workerEnv?: Record<string, string>; callbackEvents?: CallbackEvents }): Promise<RunningApi>;
}

/** The suite on one Redis node, or on a 3-master Redis Cluster (REDIS_CLUSTER=true everywhere) under TEST_REDIS=cluster. */
export function apiSuite(): ApiSuite {
  let redis: TestRedis | TestCluster | undefined;
  const running: RunningApi[] = [];
  beforeAll(async () => {
    redis = ON_CLUSTER ? await startRedisCluster() : await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const api of running.splice(0)) {
      await api.server.close();
      await api.queue.stopWorkers();
      api.redis.disconnect();
    }
    await expectNothingLeft();
  });
  return {
    get redis() {
      if (!redis) throw new Error('the API suite has not started its Redis yet');
      return redis;
    },
    async start(opts = {}) {
      const queue = new TestQueue(this.redis);
      const config = loadApiConfig({
        API_PORT: '0',
        API_HOST: '127.0.0.1',
        REDIS_URL: this.redis.url,
        REDIS_CLUSTER: String(this.redis.cluster),
        STREAM_KEY: queue.stream,
        CONSUMER_GROUP: queue.group,
        CALLBACK_ALLOW_PRIVATE: 'true',
        CALLBACK_SIGNING_KEY: 'test-signing-key-0123456789',
        RATE_LIMIT_PER_MINUTE: '0',
        ...opts.env,
      });
      const log = recordingLogger();
      const conn = createRedisClient({ url: config.redisUrl, cluster: config.redisCluster }, (times) => Math.min(times * 100, 2000), { maxRetriesPerRequest: null });
      conn.on('error', () => {});
      const server = await buildApiServer({ config, redis: conn, log, callbackEvents: opts.callbackEvents });
      const port = await server.listen();
      const api = { url: `http://127.0.0.1:${port}`, server, queue, log, redis: conn };
      running.push(api);
      const workers = Array.from({ length: opts.workers ?? 0 }, () => queue.startWorker('process', { POOL_SIZE: '1', ...opts.workerEnv }));
      // A process-mode worker says which toolchain versions its jobs run: the API's languages show them.
      await Promise.all(workers.map(async (w) => {
        await workerStarted(w);
        await w.waitForLog((l) => l.msg === 'language versions published', 30_000, '"language versions published"');
      }));
      return api;
    },
  };
}

/** fetch + JSON, failing loudly on a body that is not JSON. */
export async function call(url: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const { json, ...rest } = init;
  const res = await fetch(url, {
    ...rest,
    ...(json !== undefined ? { body: JSON.stringify(json), headers: { 'content-type': 'application/json', ...(rest.headers as Record<string, string> | undefined) } } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: returned as text
  }
  return { status: res.status, body, headers: res.headers };
}
