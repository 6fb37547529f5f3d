// `code-exec demo` (`npm run demo`): the whole pipeline on this machine. Starts a throwaway Redis when
// REDIS_URL is unset, a worker in RUNNER_MODE (auto: docker when it is ready, else the process sandbox),
// submits every program in examples/ through the queue and prints a table of verdicts, times and memory.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobResult } from '../../core/protocol/result.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../../core/logger.js';
import { duplicateClient } from '../redisConnection.js';
import { waitForResult } from '../resultStore.js';
import { newInstanceId, StreamWorker } from '../streamConsumer.js';
import { selectTransport } from '../transports/selectTransport.js';
import { jobFromFile, UsageError } from './jobFromFile.js';
import { connectOnce } from './submitCommand.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

interface Manifest {
  stdin: string;
  expectedOutput: string;
  examples: { file: string; expect: string }[];
}

function say(msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ msg, step: 'demo', ...fields })}\n`);
}

/** A private redis-server on a free port, gone when the demo ends. */
async function startLocalRedis(): Promise<{ url: string; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'code-exec-demo-'));
  const socket = join(dir, 'redis.sock');
  // A missing binary is reported through 'error', not thrown by spawn.
  const proc = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir, '--save', ''], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    proc.once('error', () => reject(new UsageError('redis-server not found: apt-get install -y redis-server, or set REDIS_URL')));
    const deadline = Date.now() + 10_000;
    const probe = async () => {
      try {
        (await connectOnce(`redis+unix://${socket}`)).disconnect();
        resolve();
      } catch {
        if (Date.now() > deadline) reject(new UsageError('redis-server did not start within 10 s'));
        else setTimeout(probe, 50);
      }
    };
    void probe();
  });
  return {
    url: `redis+unix://${socket}`,
    stop() {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export async function demoCommand(): Promise<number> {
  const manifest = JSON.parse(readFileSync(join(EXAMPLES, 'manifest.json'), 'utf8')) as Manifest;
  const local = process.env.REDIS_URL ? null : await startLocalRedis();
  if (local) say('started a private redis-server for the demo (set REDIS_URL to use yours)');
  const config = loadConfig({ ...process.env, REDIS_URL: local?.url ?? process.env.REDIS_URL, STREAM_KEY: `code-execution-demo-${randomUUID().slice(0, 8)}` });
  const log = createLogger({ component: 'worker' }, 'warn');
  const instanceId = newInstanceId(config.workerName);
  const transport = await selectTransport(config, instanceId, createLogger({ component: 'demo' }));
  const worker = new StreamWorker(config, instanceId, transport, log);
  const producer = await connectOnce(config.redisUrl, config.redisCluster);
  try {
    await worker.start();
    say('worker started', { runnerMode: transport.mode, examples: manifest.examples.length });
    const jobs = manifest.examples.map((e) => ({
      ...e,
      job: { ...jobFromFile(join(EXAMPLES, e.file), {}), stdin: manifest.stdin, expectedOutput: manifest.expectedOutput },
    }));
    for (const { job } of jobs) await producer.xadd(config.streamKey, '*', 'job', JSON.stringify(job));
    const results: JobResult[] = [];
    for (const { file, job } of jobs) {
      const waiter = duplicateClient(producer);
      const r = await waitForResult(waiter, job.id, 120_000);
      waiter.disconnect();
      if (!r) throw new Error(`no result for ${file} within 120 s; check the worker log above`);
      say('result', { file, status: r.status, done: `${results.length + 1}/${jobs.length}` });
      results.push(r);
    }
    const rows = [['example', 'language', 'status', 'expected', 'cpu ms', 'wall ms', 'memory KB', 'message']];
    let mismatches = 0;
    jobs.forEach(({ file, expect }, i) => {
      const r = results[i];
      if (r.status !== expect) mismatches++;
      rows.push([file, r.language, `${r.status === expect ? '✓' : '✗'} ${r.status}`, expect, String(r.timeMs), String(r.wallTimeMs), String(r.memoryKb), (r.message ?? '').slice(0, 60)]);
    });
    process.stdout.write(`\ncode-execution demo: ${jobs.length} jobs through Redis Streams, runner mode ${transport.mode}\n\n${table(rows)}\n\n`);
    process.stdout.write(mismatches ? `${mismatches} example(s) did not get the expected verdict\n` : 'every example got its expected verdict\n');
    return mismatches ? 1 : 0;
  } finally {
    await worker.close();
    producer.disconnect();
    local?.stop();
  }
}
