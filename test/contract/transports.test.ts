// The contract every transport passes: the same programs, the same verdicts, the same measurements.
// What hostile programs must not achieve (isolation) is the security battery's: test/security/.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { normalizeJob, type JobInput } from '../../core/protocol/job.js';
import type { RunnerTransport } from '../../worker/transports/transport.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { testOwner } from '../support/sandboxClaims.js';
import { COMPILE_ERRORS, PROGRAMS, type Behaviour } from '../support/programs.js';
import { availableTransports } from '../support/transports.js';

const TRANSPORTS = await availableTransports();

let seq = 0;

describe.each(TRANSPORTS.map((t) => [t.name, t] as const))('%s transport', (_name, factory) => {
  let transport: RunnerTransport;
  let stop: (() => Promise<void>) | undefined;
  let pooled = 0;
  beforeAll(async () => {
    ({ transport, stop, pooled = 0 } = await factory.start({ owner: testOwner('contract-test') }));
  });
  afterAll(async () => {
    await transport.close();
    await stop?.();
    await expectNothingLeft();
  });
  afterEach(() => expectNothingLeft(15_000, pooled));

  const run = (language: string, behaviour: Behaviour, extra: Partial<JobInput> = {}) =>
    transport.run(normalizeJob({ id: `contract-${++seq}`, language, code: PROGRAMS[language][behaviour], ...extra }));

  // The whole behaviour matrix in the first six languages on every transport; every language's own checks are
  // test/languages/ (process in full, docker in part).
  describe.each(Object.keys(PROGRAMS))('%s', (language) => {
    it('hello world is accepted with its stdout', async () => {
      const r = await run(language, 'hello');
      expect(r).toMatchObject({ status: 'accepted', stdout: 'hello world\n', exitCode: 0 });
    });

    it('echoes stdin', async () => {
      const stdin = 'line one\nline two ✓\n';
      const r = await run(language, 'echo', { stdin });
      expect(r).toMatchObject({ status: 'accepted', stdout: stdin });
    });

    it('exit 3 is a runtime_error with exitCode 3', async () => {
      const r = await run(language, 'exit3');
      expect(r).toMatchObject({ status: 'runtime_error', exitCode: 3 });
    });

    it('a busy loop under a 1 s limit is time_limit_exceeded within wall limit + 1 s', async () => {
      const job = { timeLimitMs: 1000 };
      const r = await run(language, 'busyLoop', job);
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.wallTimeMs).toBeLessThanOrEqual(normalizeJob({ id: 'x', language, code: '', ...job }).wallTimeLimitMs + 1000);
    });

    it('sleep 100 is time_limit_exceeded by wall time', async () => {
      const r = await run(language, 'sleep', { timeLimitMs: 1000, wallTimeLimitMs: 2000 });
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.message).toMatch(/wall time/);
      expect(r.wallTimeMs).toBeGreaterThanOrEqual(2000);
      expect(r.wallTimeMs).toBeLessThan(3000);
    });

    it('1 GB under a 128 MB limit is memory_limit_exceeded', async () => {
      const r = await run(language, 'allocate1g', { memoryLimitMb: 128, timeLimitMs: 5000 });
      expect(r.status).toBe('memory_limit_exceeded');
    });

    it('endless printing is output_limit_exceeded, cut at the cap', async () => {
      const r = await run(language, 'printForever', { maxOutputBytes: 10_000 });
      expect(r.status).toBe('output_limit_exceeded');
      expect(r.stdoutTruncated).toBe(true);
      expect(Buffer.byteLength(r.stdout)).toBe(10_000);
    });

    it('a mismatched expectedOutput is wrong_answer', async () => {
      const r = await run(language, 'hello', { expectedOutput: 'goodbye world\n' });
      expect(r.status).toBe('wrong_answer');
      expect((await run(language, 'hello', { expectedOutput: 'hello world   \n\n' })).status).toBe('accepted');
    });

    it('a 100 MB program reports memoryKb ≥ 100 MB and below its limit', async () => {
      const r = await run(language, 'allocate100m', { memoryLimitMb: 256, timeLimitMs: 5000 });
      expect(r.status).toBe('accepted');
      expect(r.memoryKb).toBeGreaterThanOrEqual(100 * 1024);
      expect(r.memoryKb).toBeLessThan(256 * 1024);
    });

    it('a 1 s CPU loop reports timeMs within 20%', async () => {
      const r = await run(language, 'cpuSecond', { timeLimitMs: 5000 });
      expect(r.status).toBe('accepted');
      expect(r.timeMs).toBeGreaterThanOrEqual(800);
      expect(r.timeMs).toBeLessThanOrEqual(1200);
    });
  });

  describe.each(Object.keys(COMPILE_ERRORS))('%s syntax error', (language) => {
    it('is compile_error with the compiler message', async () => {
      const r = await transport.run(normalizeJob({ id: `contract-${++seq}`, language, code: COMPILE_ERRORS[language] }));
      expect(r.status).toBe('compile_error');
      expect(r.compileOutput).toMatch(/error/);
      expect(r.stdout).toBe('');
    });
  });

  it('a job over the memory limit at exit is measured, not guessed: JVM hello world under 64 MB works', async () => {
    const r = await run('java', 'hello', { memoryLimitMb: 64 });
    expect(r).toMatchObject({ status: 'accepted', stdout: 'hello world\n' });
  });

  it('python multiprocessing works (Pool, Lock: POSIX semaphores in /dev/shm), and its workers\' memory counts', async () => {
    // Two pool workers each hold 80 MB for a while at the same time (the barrier), so only the sum over processes
    // passes 150 MB. A Manager would need a socket, which no job may open.
    const code = [
      'import multiprocessing as mp, time',
      'def init(l, b):',
      '    global lock, barrier',
      '    lock, barrier = l, b',
      'def hold(_):',
      '    block = bytearray(80 * 1024 * 1024)',
      '    for i in range(0, len(block), 4096): block[i] = 1',
      '    barrier.wait()',
      '    time.sleep(0.3)',
      '    with lock: return len(block) // (1024 * 1024)',
      'if __name__ == "__main__":',
      '    lock, barrier = mp.Lock(), mp.Barrier(2)',
      '    with mp.Pool(2, initializer=init, initargs=(lock, barrier)) as pool: print(sum(pool.map(hold, range(2))))',
    ].join('\n');
    const r = await transport.run(normalizeJob({ id: `contract-${++seq}`, language: 'python', code, memoryLimitMb: 512 }));
    expect(r, r.stderr).toMatchObject({ status: 'accepted', stdout: '160\n' });
    expect(r.memoryKb).toBeGreaterThanOrEqual(150 * 1024);
  });

  describe('several test cases', () => {
    // Reads two numbers, prints their sum; compiled so that "compiles once" means something.
    const sum = '#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << "\\n"; }';
    const cases = [
      { stdin: '1 2', expectedOutput: '3' },
      { stdin: '10 20', expectedOutput: '30' },
      { stdin: '5 5', expectedOutput: '11' },
      { stdin: '-1 1', expectedOutput: '0' },
      { stdin: '100 1', expectedOutput: '101' },
    ];

    it('a 5-case submission compiles once and reports 5 verdicts; the first failure speaks for the job', async () => {
      const r = await transport.run(normalizeJob({ id: `contract-${++seq}`, language: 'cpp', code: sum, testCases: cases }));
      expect(r.compilations).toBe(1);
      expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'accepted', 'wrong_answer', 'accepted', 'accepted']);
      expect(r.testCases?.map((c) => c.stdout)).toEqual(['3\n', '30\n', '10\n', '0\n', '101\n']);
      expect(r).toMatchObject({ status: 'wrong_answer', stdout: '10\n' });
      for (const c of r.testCases ?? []) expect(c.memoryKb).toBeGreaterThan(0);
    });

    it('stopOnFirstFailure skips the cases after the first failure', async () => {
      const r = await transport.run(normalizeJob({ id: `contract-${++seq}`, language: 'cpp', code: sum, testCases: cases, stopOnFirstFailure: true }));
      expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'accepted', 'wrong_answer', 'skipped', 'skipped']);
      expect(r.status).toBe('wrong_answer');
    });

    it('each case has its own limits: one sleeping case is a TLE, the others are judged', async () => {
      const code = 'import sys, time\nn = int(sys.stdin.read())\nif n == 2: time.sleep(100)\nprint(n * n)';
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python', code, timeLimitMs: 1000, wallTimeLimitMs: 1500,
        testCases: [{ stdin: '1', expectedOutput: '1' }, { stdin: '2', expectedOutput: '4' }, { stdin: '3', expectedOutput: '9' }],
      }));
      expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'time_limit_exceeded', 'accepted']);
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.compilations).toBe(0);
    });
  });
});
