// A real redis-server that speaks only TLS and wants an AUTH password, as ElastiCache with transit encryption and an
// auth token does: no plain port, on a free port of the given address, in a temp dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './freePort.js';
import type { ServerCertificate } from './testCa.js';
import { until } from './until.js';

export interface TlsRedisOptions {
  /** The address it listens on (and clients connect to: the certificate must name it). */
  host: string;
  certificate: ServerCertificate;
  /** The CA that signed `certificate`, PEM: what the test's own client trusts. */
  caPem: string;
  /** The AUTH password (ElastiCache's auth token). */
  password: string;
}

export interface TlsRedis {
  host: string;
  port: number;
  /** A client of the test's own (TLS, authenticated). */
  client: Redis;
  stop(): Promise<void>;
}

export async function startTlsRedis(options: TlsRedisOptions): Promise<TlsRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'test-tls-redis-'));
  let output = '';
  const proc: ChildProcess = spawn('redis-server', [
    '--port', '0', '--tls-port', String(port), '--bind', options.host, '--dir', dir, '--save', '',
    '--tls-cert-file', options.certificate.certFile, '--tls-key-file', options.certificate.keyFile, '--tls-auth-clients', 'no',
    '--requirepass', options.password,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  // A missing redis-server fails the spawn itself.
  let spawnError: Error | null = null;
  proc.on('error', (err) => (spawnError = err));
  proc.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const client = new Redis(`rediss://:${encodeURIComponent(options.password)}@${options.host}:${port}`, { tls: { ca: options.caPem }, maxRetriesPerRequest: null, retryStrategy: () => 100 });
  client.on('error', () => {});
  const stop = async () => {
    client.disconnect();
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(`redis-server with TLS on ${options.host}:${port}`, async () => {
      if (spawnError) throw new Error(`redis-server did not start: ${spawnError.message} (is it installed? apt-get install redis-server)`);
      if (proc.exitCode !== null) throw new Error(`redis-server exited ${proc.exitCode}:\n${output}`);
      return client.status === 'ready' && (await client.ping()) === 'PONG';
    }, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: options.host, port, client, stop };
}
