// A real Redis Cluster for tests: three masters and a replica each, redis-server --cluster-enabled on loopback
// ports in a temp dir, joined by `redis-cli --cluster create`, with append-only persistence as in production.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis, type Cluster } from 'ioredis';
import { createClusterClient } from '../../worker/redisConnection.js';
import { freePort } from './freePort.js';
import type { RedisEndpoint } from './redisServer.js';

const run = promisify(execFile);

export interface TestCluster extends RedisEndpoint {
  client: Cluster;
  ports: number[];
  /**
   * Kills the master that serves `key` (SIGKILL, as a crashed node) and waits until its replica has taken over
   * (after the node timeout) and the cluster is whole again. Returns the new master's port.
   */
  killMaster(key: string): Promise<number>;
  /**
   * Promotes the replica of the master that serves `key` (CLUSTER FAILOVER on the replica: the old master
   * hands over once the replica has caught up) and waits until the cluster agrees. Returns the new master's port.
   */
  failover(key: string): Promise<number>;
  stop(): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free as well, clear of the ports and bus ports of `taken`. */
async function clusterPort(taken: number[]): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535 || taken.some((t) => [t, t + 10000].includes(port) || [t, t + 10000].includes(port + 10000))) continue;
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
  while (!(await check().catch((err: Error & { code?: string }) => {
    if (err.code === 'ENOENT') throw err;
    return false;
  }))) {
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
  for (let i = 0; i < 6; i++) ports.push(await clusterPort(ports));
  const procs: ChildProcess[] = ports.map((port) => {
    const d = join(dir, String(port));
    mkdirSync(d);
    return spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', d, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', '3000', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
    ], { stdio: 'ignore' });
  });
  let spawnError: Error | undefined;
  for (const p of procs) p.once('error', (err) => (spawnError = err));
  const stopAll = async () => {
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => { p.once('exit', r); p.kill('SIGKILL'); }))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await until(`node ${port} answering`, async () => {
        if (spawnError) throw spawnError;
        return (await ask(port, (r) => r.ping())) === 'PONG';
      });
    }
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
  /** Nodes still running (a killed master is gone for good). */
  const live = new Set(ports);
  const servingOf = async (key: string) => {
    const at = [...live][0];
    const slot = Number(await ask(at, (r) => r.cluster('KEYSLOT', key)));
    const owner = (await ask(at, (r) => r.cluster('SLOTS'))).find(([from, to]) => slot >= from && slot <= to);
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    const masterPort = owner[2][1];
    const roles = await Promise.all([...live].map(async (p) => ({ port: p, ...(await roleOf(p)) })));
    const replica = roles.find((r) => r.role === 'slave' && r.masterPort === masterPort)?.port;
    if (!replica) throw new Error(`the master on ${masterPort} has no replica`);
    return { slot, masterPort, replica };
  };
  const agreeOn = (slot: number, master: number) => until('every node agreeing on the new master', async () => {
    for (const port of live) {
      const view = await ask(port, (r) => r.cluster('SLOTS'));
      if (view.find(([from, to]) => slot >= from && slot <= to)?.[2][1] !== master) return false;
      if (!(await ask(port, (r) => r.cluster('INFO'))).includes('cluster_state:ok')) return false;
    }
    return true;
  }, 30_000);
  // The test's own client rides out failovers as the workers' do.
  const client = createClusterClient(`redis://127.0.0.1:${ports[0]}`, (times) => Math.min(times * 100, 2000), { maxRetriesPerRequest: null });
  client.on('error', () => {});
  await until('the test client ready', async () => client.status === 'ready' && (await client.ping()) === 'PONG');

  return {
    url: `redis://127.0.0.1:${ports[0]}`,
    cluster: true,
    client,
    ports,
    async failover(key: string) {
      const { slot, masterPort, replica } = await servingOf(key);
      await ask(replica, (r) => r.cluster('FAILOVER'));
      await until(`${replica} promoted`, async () => (await roleOf(replica)).role === 'master' && (await roleOf(masterPort)).role === 'slave');
      await agreeOn(slot, replica);
      return replica;
    },
    async killMaster(key: string) {
      const { slot, masterPort, replica } = await servingOf(key);
      const proc = procs[ports.indexOf(masterPort)];
      await new Promise((r) => {
        proc.once('exit', r);
        proc.kill('SIGKILL');
      });
      live.delete(masterPort);
      await until(`${replica} promoted after ${masterPort} died`, async () => (await roleOf(replica)).role === 'master', 30_000);
      await agreeOn(slot, replica);
      return replica;
    },
    async stop() {
      client.disconnect();
      await stopAll();
    },
  };
}
