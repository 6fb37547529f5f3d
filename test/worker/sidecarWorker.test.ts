// The worker in sidecar mode end to end: Redis → worker → shared directory → runner sidecar → result, with the
// sidecar as a daemon process on this host and as the runner image in its own container. The container
// shares the host's network, as a task's sidecar shares the worker's: job code must still not reach Redis.
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
import { startSidecar, type RunningSidecar, type SidecarPosture } from '../support/sidecar.js';
import { startWorker, type WorkerHandle } from '../support/workerProcess.js';

const POSTURES: SidecarPosture[] = ['process', ...((await dockerAvailable()) ? ['container' as const] : [])];

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(POSTURES)('worker in sidecar mode (sidecar as a %s)', (posture) => {
  let sidecar: RunningSidecar;
  let worker: WorkerHandle;
  const stream = `jobs-${randomUUID()}`;

  beforeAll(async () => {
    sidecar = await startSidecar(posture);
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
  // The sidecar is alive between tests: its sandbox supervisor (bubblewrap posture) stays, nothing else.
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

  it("job code cannot list or read another job's directory", async () => {
    const secret = `secret-${randomUUID()}`;
    // Victims wait in the shared directory (queued or running) while the probe looks for them.
    const victims = [1, 2].map(() => run({ language: 'bash', code: `sleep 2; echo ${secret}`, stdin: secret }));
    // The probe walks the whole filesystem: give it CPU time to spare on a loaded CI machine.
    const probe = run({
      language: 'bash',
      timeLimitMs: 15_000,
      wallTimeLimitMs: 30_000,
      code: [
        'sleep 0.5',
        `for d in ${sidecar.dir} /shared; do`,
        '  ls -la "$d" 2>&1 | sed "s/^/list: /"',
        '  for j in "$d"/*/; do ls "$j" 2>&1 | sed "s/^/inside: /"; cat "$j"job.json "$j"job.claimed 2>&1 | sed "s/^/read: /"; done',
        'done',
        'grep -r secret- / --include=job.json --include=job.claimed 2>/dev/null | head -3 | sed "s/^/found: /"',
        'echo probe-done',
      ].join('\n'),
    });
    const r = await probe;
    for (const v of await Promise.all(victims)) expect(v.status).toBe('accepted');
    expect(r.status, `probe: ${r.message} cpu ${r.timeMs} ms, wall ${r.wallTimeMs} ms`).toBe('accepted');
    expect(r.stdout).toContain('probe-done');
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).not.toMatch(/^found:/m);
    expect(r.stdout).not.toMatch(/^inside: (job|result)/m);
  });
});

describe('a worker whose runner sidecar is not there yet (a new node still pulling its image, or one that died)', () => {
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

      sidecar = await startSidecar('process', {}, { dir });
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
