// A real Redis Cluster for tests: three masters and a replica each, redis-server --cluster-enabled on loopback
// ports in a temp dir, joined by `redis-cli --cluster create`, with append-only persistence as in production.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './freePort.js';
import type { RedisEndpoint } from './redisServer.js';

const run = promisify(execFile);

export interface TestCluster extends RedisEndpoint {
  client: Cluster;
  ports: number[];
  /**
   * Promotes the replica of the master that serves `key` (CLUSTER FAILOVER on the replica: the old master
   * hands over once the replica has caught up) and waits until the cluster agrees. Returns the new master's port.
   */
  failover(key: string): Promise<number>;
  stop(): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free as well. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535) continue;
    const bus = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port + 10000, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (bus) return port;
  }
}

function node(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on('error', () => {});
  return r;
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = node(port);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`the test Redis Cluster: ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `role` and, for a replica, its master's port, from INFO replication. */
async function roleOf(port: number): Promise<{ role: string; masterPort?: number }> {
  const info = await ask(port, (r) => r.info('replication'));
  const role = /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
  const masterPort = /master_port:(\d+)/.exec(info)?.[1];
  return { role, masterPort: masterPort ? Number(masterPort) : undefined };
}

export async function startRedisCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'test-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) ports.push(await clusterPort());
  const procs: ChildProcess[] = ports.map((port) => {
    const d = join(dir, String(port));
    mkdirSync(d);
    return spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', d, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', '3000', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
    ], { stdio: 'ignore' });
  });
  const stopAll = async () => {
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => { p.once('exit', r); p.kill('SIGKILL'); }))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await until(`node ${port} answering`, async () => (await ask(port, (r) => r.ping())) === 'PONG');
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes']);
    for (const port of ports) await until(`node ${port} reporting cluster_state:ok`, async () => (await ask(port, (r) => r.cluster('INFO'))).includes('cluster_state:ok'));
    // Every replica attached and in sync, so a failover has someone to promote.
    await until('3 replicas in sync', async () => {
      const roles = await Promise.all(ports.map(roleOf));
      const replicas = await Promise.all(ports.filter((_, i) => roles[i].role === 'slave').map((p) => ask(p, (r) => r.info('replication'))));
      return replicas.length === 3 && replicas.every((i) => i.includes('master_link_status:up'));
    });
  } catch (err) {
    await stopAll();
    throw new Error(`could not start a Redis Cluster (redis-server and redis-cli from apt-get install redis-server): ${(err as Error).message}`);
  }
  const client = new Cluster([{ host: '127.0.0.1', port: ports[0] }], { redisOptions: { maxRetriesPerRequest: null } });
  client.on('error', () => {});
  await until('the test client ready', async () => client.status === 'ready' && (await client.ping()) === 'PONG');

  return {
    url: `redis://127.0.0.1:${ports[0]}`,
    cluster: true,
    client,
    ports,
    async failover(key: string) {
      const slot = Number(await ask(ports[0], (r) => r.cluster('KEYSLOT', key)));
      const slots = await ask(ports[0], (r) => r.cluster('SLOTS'));
      const owner = slots.find(([from, to]) => slot >= from && slot <= to);
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      const masterPort = owner[2][1];
      const roles = await Promise.all(ports.map(roleOf));
      const replica = ports.find((_, i) => roles[i].role === 'slave' && roles[i].masterPort === masterPort);
      if (!replica) throw new Error(`the master on ${masterPort} has no replica`);
      await ask(replica, (r) => r.cluster('FAILOVER'));
      await until(`${replica} promoted`, async () => (await roleOf(replica)).role === 'master' && (await roleOf(masterPort)).role === 'slave');
      await until('every node agreeing on the new master', async () => {
        for (const port of ports) {
          const view = await ask(port, (r) => r.cluster('SLOTS'));
          if (view.find(([from, to]) => slot >= from && slot <= to)?.[2][1] !== replica) return false;
        }
        return true;
      });
      return replica;
    },
    async stop() {
      client.disconnect();
      await stopAll();
    },
  };
}
