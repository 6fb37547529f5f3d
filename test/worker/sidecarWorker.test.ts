// The worker in sidecar mode end to end: Redis → worker → the runner sidecar's socket in the shared directory → the
// runner image's executor in its own container → result. The container shares the host's network, as a task's sidecar
// shares the worker's: job code must still not reach Redis, nor the executor's socket.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/protocol/result.js';
import { waitForResult } from '../../worker/resultStore.js';
import { freePort } from '../support/freePort.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { dockerAvailable } from '../support/services.js';
import { startSidecar, type RunningSidecar } from '../support/sidecar.js';
import { startWorker, type WorkerHandle } from '../support/workerProcess.js';

const DOCKER = await dockerAvailable();

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.skipIf(!DOCKER)('worker in sidecar mode', () => {
  let sidecar: RunningSidecar;
  let worker: WorkerHandle;
  const stream = `jobs-${randomUUID()}`;

  beforeAll(async () => {
    sidecar = await startSidecar();
    // Worse than the sidecar leaves it (1770: the worker's alone): world-writable and listable, as if the
    // volume's owner and group were not the worker's. The sidecar's sticky bit stays, as it sets it at start.
    chmodSync(sidecar.dir, 0o1777);
    worker = startWorker({
      REDIS_URL: redis.url, STREAM_KEY: stream, RUNNER_MODE: 'sidecar', SIDECAR_DIR: sidecar.dir,
      MAX_CONCURRENT_JOBS: '3', READ_BLOCK_MS: '200',
    });
    await worker.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"');
  });
  afterAll(async () => {
    await worker?.stop();
    await sidecar?.stop();
  });
  afterEach(() => expectNothingLeft(15_000, 0));

  async function run(job: Record<string, unknown>, timeoutMs = 60_000): Promise<JobResult> {
    const id = randomUUID();
    await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id, ...job }));
    const waiter = redis.client.duplicate();
    try {
      const r = await waitForResult(waiter, id, timeoutMs);
      if (!r) throw new Error(`no result for ${id}; sidecar log:\n${sidecar.log()}`);
      return r;
    } finally {
      waiter.disconnect();
    }
  }

  it('runs jobs end to end and leaves nothing pending or in the shared directory', async () => {
    const results = await Promise.all([
      run({ language: 'python', code: 'print(input()[::-1])', stdin: 'abc\n', expectedOutput: 'cba' }),
      run({ language: 'c', code: '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }' }),
      run({ language: 'bash', code: 'while :; do :; done', timeLimitMs: 500 }),
    ]);
    expect(results.map((r) => [r.status, r.runnerMode])).toEqual([
      ['accepted', 'sidecar'], ['accepted', 'sidecar'], ['time_limit_exceeded', 'sidecar'],
    ]);
    // The worker acknowledges right after it stores the result a waiter may already have read.
    const pending = async () => Number(((await redis.client.xpending(stream, 'execution-workers')) as [number])[0]);
    await expect.poll(pending, { timeout: 5000 }).toBe(0);
  });

  it('job code cannot connect to the Redis the worker uses', async () => {
    const code = [
      'import socket',
      'try:',
      `    s = socket.create_connection(("127.0.0.1", ${redis.port}), timeout=2)`,
      '    s.sendall(b"SET pwned 1\\r\\n")',
      '    print("connected", s.recv(100))',
      'except OSError as e:',
      '    print("blocked", e.errno)',
    ].join('\n');
    const r = await run({ language: 'python', code });
    expect(r.stdout).toMatch(/^blocked/);
    expect(await redis.client.exists('pwned')).toBe(0);
  });

  it("job code cannot read the heartbeat or reach the executor's socket, even in a shared directory left open to all", async () => {
    const code = [
      'import os, socket',
      "for path in ('/shared', '/shared/.sidecar-heartbeat'):",
      '    try:',
      "        print('listed' if os.path.isdir(path) and os.listdir(path) else 'read' if open(path).read() else 'empty', path)",
      '    except OSError as e:',
      "        print('refused', path, e.errno)",
      'try:',
      '    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      "    s.connect('/shared/.executor.sock')",
      "    print('connected', s.recv(8))",
      'except OSError as e:',
      "    print('refused socket', e.errno)",
    ].join('\n');
    const r = await run({ language: 'python', code });
    expect(r.status, r.message ?? '').toBe('accepted');
    // The directory is 1777 here (beforeAll): listed. The heartbeat and the socket are the directory owner's and
    // group's (0640, 0660): EACCES, or EPERM where the filter refuses a unix socket first.
    expect(r.stdout).toMatch(/^listed \/shared\nrefused \/shared\/\.sidecar-heartbeat 13\nrefused socket (1|13)\n$/);
  });
});

describe.skipIf(!DOCKER)('a worker whose runner sidecar is not there yet (a new node still pulling its image, or one that died)', () => {
  it('claims nothing and is not ready, saying why; once the sidecar serves, the waiting job runs on its first delivery', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-dir-'));
    const stream = `jobs-${randomUUID()}`;
    const metricsPort = await freePort();
    const worker = startWorker({
      REDIS_URL: redis.url, STREAM_KEY: stream, RUNNER_MODE: 'sidecar', SIDECAR_DIR: dir, READ_BLOCK_MS: '200', METRICS_PORT: String(metricsPort),
    });
    let sidecar: RunningSidecar | undefined;
    try {
      await worker.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"');
      const id = randomUUID();
      await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'bash', code: 'echo ran' }));
      await worker.waitForLog((l) => l.msg === 'cannot take jobs now; claiming none until it can' && /no runner sidecar serves/.test(String(l.reason)), 10_000, 'the worker holding back');
      const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { reason: string }).reason).toMatch(/no runner sidecar serves .* \(no heartbeat file\)/);
      expect(await redis.client.xpending(stream, 'execution-workers')).toEqual([0, null, null, null]);

      sidecar = await startSidecar({ dir });
      const waiter = redis.client.duplicate();
      try {
        expect(await waitForResult(waiter, id, 60_000)).toMatchObject({ status: 'accepted', stdout: 'ran\n', attempts: 1 });
      } finally {
        waiter.disconnect();
      }
      expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
    } finally {
      await worker.stop();
      await sidecar?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
