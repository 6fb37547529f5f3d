// The code-exec command as a user runs it.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNothingLeft } from '../support/leftovers.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { dockerAvailable } from '../support/services.js';
import { startWorker, type WorkerHandle } from '../support/workerProcess.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'code-exec.js');
const RUNNER_MODE = (await dockerAvailable()) ? 'docker' : 'process';
const run = promisify(execFile);

let redis: TestRedis;
let worker: WorkerHandle;
const stream = `cli-${randomUUID()}`;
const dir = mkdtempSync(join(tmpdir(), 'cli-test-'));
const env = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', REDIS_URL: redis.url, STREAM_KEY: stream, RUNNER_MODE });

async function cli(args: string[], extraEnv: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...env(), ...extraEnv }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  redis = await startRedis();
  worker = startWorker({ REDIS_URL: redis.url, STREAM_KEY: stream, RUNNER_MODE, READ_BLOCK_MS: '200' });
  await worker.waitForLog((l) => l.msg === 'worker started', 60_000);
  writeFileSync(join(dir, 'greet.py'), 'print("hi", input())');
  writeFileSync(join(dir, 'in.txt'), 'there\n');
  writeFileSync(join(dir, 'want.txt'), 'hi there\n');
  // A language no recipe has (Malbolge): the CLI cannot tell it from the extension.
  writeFileSync(join(dir, 'main.mal'), 'a Malbolge program\n');
});
afterAll(async () => {
  await worker?.stop();
  await redis?.stop();
  await expectNothingLeft();
});

describe('code-exec', () => {
  it('--help lists the commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['worker', 'submit', 'run', 'stats', 'demo']) expect(r.stdout).toContain(`code-exec ${command}`);
  });

  it('submit prints the result JSON and exits 0', async () => {
    const r = await cli(['submit', join(dir, 'greet.py'), '--stdin', join(dir, 'in.txt'), '--expected-output', join(dir, 'want.txt')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'accepted', stdout: 'hi there\n', language: 'python', runnerMode: RUNNER_MODE });
  });

  it('submit --no-wait queues and returns the id; stats shows the queue', async () => {
    const r = await cli(['submit', join(dir, 'greet.py'), '--no-wait', '--id', 'queued-1']);
    expect(JSON.parse(r.stdout)).toEqual({ id: 'queued-1', queued: true });
    await worker.waitForLog((l) => l.msg === 'job completed' && l.jobId === 'queued-1');
    const stats = JSON.parse((await cli(['stats'])).stdout);
    expect(stats).toMatchObject({ stream, group: 'execution-workers', pending: 0, lag: 0, deadLetters: 0 });
    expect(stats.consumers).toHaveLength(1);
    // Acknowledged entries leave the stream within the worker's trim interval, and stats says so.
    await expect.poll(async () => JSON.parse((await cli(['stats'])).stdout).length, { timeout: 15_000, interval: 200 }).toBe(0);
  });

  it('submit without a worker times out with a reason and a non-zero exit', async () => {
    const r = await cli(['submit', join(dir, 'greet.py'), '--timeout-ms', '500'], { STREAM_KEY: `nobody-${randomUUID()}` });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no result for job .* within 500 ms: is a worker running/);
  });

  it('says what to do when Redis is unreachable, the language is unknown or the file is missing', async () => {
    const down = await cli(['submit', join(dir, 'greet.py')], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/cannot reach Redis .*start redis-server or set REDIS_URL/);
    expect((await cli(['submit', join(dir, 'main.mal')])).stderr).toMatch(/cannot tell the language .*pass --language/);
    expect((await cli(['submit', join(dir, 'nope.py')])).stderr).toMatch(/cannot read source file .*ENOENT/);
  });

  it('run executes through the runner without the queue', async () => {
    const r = await cli(['run', join(dir, 'greet.py'), '--stdin', join(dir, 'in.txt')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'accepted', stdout: 'hi there\n', runnerMode: RUNNER_MODE });
  });

  it('worker refuses a bad configuration with a message and a non-zero exit', async () => {
    const r = await cli(['worker'], { MAX_CONCURRENT_JOBS: '0' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MAX_CONCURRENT_JOBS="0": must be at least 1/);
  });
});
