// A real redis-server for tests, on a free port in a temp dir, with append-only persistence so a restart
// keeps the stream (as production Redis does).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisClient } from '../../worker/redisConnection.js';
import { freePort } from './freePort.js';

/** A Redis the tests reach: one node, or a cluster (REDIS_CLUSTER=true for what they start). */
export interface RedisEndpoint {
  url: string;
  cluster: boolean;
  client: RedisClient;
}

export interface TestRedis extends RedisEndpoint {
  port: number;
  cluster: false;
  client: Redis;
  stop(): Promise<void>;
  /** Stops the server (SIGKILL by default, like a crash) and starts it again on the same port and data. */
  restart(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
}

async function waitUntilUp(port: number, host: string, password: string | undefined): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({ port, host, password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}; is redis-server installed (apt-get install redis-server)?`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface RedisOptions {
  /** false: only reserve its port and data dir until `start()`. */
  started?: boolean;
  /** Where it listens (and clients connect): loopback unless containers must reach it (a bridge's gateway address). */
  host?: string;
  /** An AUTH password every client must give (requirepass), as a managed Redis's AUTH string. */
  password?: string;
}

/** Starts a Redis; with `{ started: false }` only reserves its port and data dir until `start()`. */
export async function startRedis(opts: RedisOptions = {}): Promise<TestRedis> {
  const { host = '127.0.0.1', password } = opts;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'test-redis-'));
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn('redis-server', [
      '--port', String(port), '--bind', host, '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
      ...(password ? ['--requirepass', password] : []),
    ], { stdio: 'ignore' });
    await waitUntilUp(port, host, password);
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  if (opts.started !== false) await start();
  const client = new Redis({ port, host, password, maxRetriesPerRequest: null });
  client.on('error', () => {});
  return {
    url: `redis://${password ? `:${encodeURIComponent(password)}@` : ''}${host}:${port}`,
    cluster: false,
    port,
    client,
    start,
    kill,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
