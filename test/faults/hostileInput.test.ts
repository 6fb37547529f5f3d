// Hostile input through a real worker: jobs built to crash workers, flood Redis or hold a worker for an hour.
// Each is answered (`rejected`, a real verdict, or a dead letter) within the bounds the caps promise, the
// worker stays alive (or, if it dies, is not killed again by the same entry past MAX_DELIVERIES), a trivial
// job submitted during the attack gets its result within 2 s of its usual latency, and Redis grows by no more
// than the result cap.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPS } from '../../core/protocol/limits.js';
import { jobStartsKey, resultEventsKey, resultKey } from '../../core/keys.js';
import { getResult } from '../../worker/resultStore.js';
import { type TestQueue, workerStarted } from '../support/jobQueue.js';
import { queueSuite } from '../support/queueSuite.js';
import { dockerAvailable } from '../support/services.js';
import type { WorkerHandle } from '../support/workerProcess.js';

const MODES = ['process', ...((await dockerAvailable()) ? ['docker'] : [])];
const MiB = 1 << 20;

const suite = queueSuite();

/** Memory of Redis's data (used_memory less client buffers and other overhead, which come and go). */
async function usedMemory(): Promise<number> {
  const info = await suite.redis.client.info('memory');
  return Number(info.match(/^used_memory_dataset:(\d+)/m)![1]);
}

/** Milliseconds from XADD to the result of a trivial job. */
async function trivialLatency(queue: TestQueue): Promise<number> {
  const started = Date.now();
  const id = await queue.submit({ code: 'print("ok")' });
  expect(await queue.result(id, 30_000)).toMatchObject({ status: 'accepted', stdout: 'ok\n' });
  return Date.now() - started;
}

/** A started worker and its usual latency for a trivial job (after one to warm it up). */
async function readyWorker(queue: TestQueue, mode: string, env: Record<string, string> = {}): Promise<{ w: WorkerHandle; usualMs: number }> {
  const w = queue.startWorker(mode, env);
  await workerStarted(w);
  await trivialLatency(queue);
  return { w, usualMs: await trivialLatency(queue) };
}

/** The job JSON of finding 1: `files` holding `count` entries named "..". */
function dotDotFiles(id: string, count: number): string {
  return `{"id":"${id}","language":"python","code":"1","files":[${Array(count).fill('{"name":"..","content":""}').join(',')}]}`;
}

/** Ids of their own per test (one Redis serves the whole file). */
const uniqueId = (name: string) => `${name}-${randomUUID()}`;

/** A python program that writes `bytes` of \x01 to stdout and to stderr (6 bytes each once JSON-escaped). */
const controlBytes = (bytes: number) => `import sys\nsys.stdout.buffer.write(b"\\x01" * ${bytes})\nsys.stderr.buffer.write(b"\\x01" * ${bytes})\n`;

describe.each(MODES)('hostile input through the worker (%s transport)', (mode) => {
  it('an 80 MB job of 2.6 million ".." file entries is rejected from its size before parsing; nothing is flooded', async () => {
    const queue = suite.newQueue();
    const { w, usualMs } = await readyWorker(queue, mode);
    const before = await usedMemory();
    const id = uniqueId('p');
    const huge = dotDotFiles(id, 2_600_000);
    expect(huge.length).toBeGreaterThan(64 * MiB);
    const entryId = await queue.submitRaw({ job: huge });
    const duringMs = await trivialLatency(queue);
    const result = await queue.result(id, 30_000);
    expect(result).toMatchObject({
      status: 'rejected',
      message: `job over the operator caps: job bytes ${huge.length} exceeds the cap ${DEFAULT_CAPS.maxJobBytes} (MAX_JOB_BYTES)`,
    });
    expect(duringMs).toBeLessThan(usualMs + 2000);
    expect(w.proc.exitCode).toBeNull();
    // Answered, acknowledged and dropped from the stream: Redis holds a small result, not the producer's 80 MB.
    expect(await suite.redis.client.xrange(queue.stream, entryId, entryId)).toEqual([]);
    expect(await suite.redis.client.strlen(resultKey(id))).toBeLessThan(2048);
    expect(await usedMemory() - before).toBeLessThan(DEFAULT_CAPS.maxResultBytes);
    // Acknowledged right after the result is stored (and readable).
    await expect.poll(() => queue.pendingCount(), { timeout: 5000 }).toBe(0);
  });

  it('within MAX_JOB_BYTES, 300,000 file entries or 500,000 unknown keys are rejected from their counts, with short messages', async () => {
    const queue = suite.newQueue();
    const { w, usualMs } = await readyWorker(queue, mode);
    const before = await usedMemory();
    const [filesId, keysId] = [uniqueId('files'), uniqueId('keys')];
    const files = dotDotFiles(filesId, 300_000);
    const keys = `{"id":"${keysId}","language":"python","code":"1",${Array.from({ length: 500_000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    expect(files.length).toBeGreaterThan(7 * MiB);
    await queue.submitRaw({ job: files });
    await queue.submitRaw({ job: keys });
    const duringMs = await trivialLatency(queue);
    expect(await queue.result(filesId)).toMatchObject({ status: 'rejected', message: 'job over the operator caps: files 300000 exceeds the cap 32 (MAX_FILES)' });
    expect(await queue.result(keysId)).toMatchObject({ status: 'rejected', message: expect.stringMatching(/^invalid job: it has 500003 fields; a job has at most \d+$/) });
    expect(duringMs).toBeLessThan(usualMs + 2000);
    expect(w.proc.exitCode).toBeNull();
    for (const id of [filesId, keysId]) expect(await suite.redis.client.strlen(resultKey(id))).toBeLessThan(2048);
    // The producer's own entries stay in the stream (acknowledged); what the worker added is small.
    expect(await usedMemory() - before - files.length - keys.length).toBeLessThan(DEFAULT_CAPS.maxResultBytes);
  });

  it('an entry that kills every worker reading it is dead-lettered on delivery MAX_DELIVERIES + 1 without being read again', async () => {
    const queue = suite.newQueue();
    // A worker with a small heap stands in for any input that crashes the process: parsing 15 million numbers
    // needs more than 48 MB. The size cap is raised so the entry is parsed at all.
    const env = { NODE_OPTIONS: '--max-old-space-size=48', MAX_JOB_BYTES: '100000000', MAX_DELIVERIES: '2', CLAIM_IDLE_MS: '1000' };
    const id = uniqueId('crasher');
    const crasher = `{"id":"${id}","language":"python","code":"1","x":[${Array(15_000_000).fill('0').join(',')}]}`;
    const entryId = await queue.submitRaw({ job: crasher });
    let deaths = 0;
    let survivor: WorkerHandle | undefined;
    // Like an orchestrator: a worker that died is replaced, until one outlives the entry.
    for (let start = 0; start < 5 && !survivor; start++) {
      const w = queue.startWorker(mode, env);
      const answered = new Promise<'answered'>((resolve) => {
        const check = setInterval(async () => {
          if (await getResult(suite.redis.client, id)) {
            clearInterval(check);
            resolve('answered');
          }
        }, 100);
        void w.exited.then(() => clearInterval(check));
      });
      const outcome = await Promise.race([answered, w.exited.then(() => 'died' as const)]);
      if (outcome === 'died') deaths++;
      else survivor = w;
    }
    expect(deaths).toBe(2);
    expect(survivor).toBeDefined();
    expect(await queue.result(id)).toMatchObject({
      status: 'internal_error',
      attempts: 3,
      message: expect.stringMatching(/^delivered 3 times without a stored result \(MAX_DELIVERIES=2\); not read again/),
    });
    // The result is stored before the dead letter is written: give the dead letter its moment.
    let dead = (await queue.deadLetters())[0];
    for (const until = Date.now() + 10_000; !dead && Date.now() < until; dead = (await queue.deadLetters())[0]) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(dead).toMatchObject({ entryId, deliveries: '3' });
    // The dead letter keeps the job's first bytes, not its 30 MB.
    expect(dead.fields.length).toBeLessThan(8192);
    // The entry is acknowledged right after its dead letter is written: give the acknowledgement its moment too.
    await expect.poll(() => queue.pendingCount(), { timeout: 10_000, interval: 50 }).toBe(0);
    expect(await trivialLatency(queue)).toBeLessThan(10_000);
  });

  it('8 (or 64) cases each printing 1 MB of control bytes on both streams are rejected up front (MAX_RESULT_BYTES)', async () => {
    const queue = suite.newQueue();
    const { w } = await readyWorker(queue, mode);
    for (const count of [8, 64]) {
      const id = await queue.submit({ code: controlBytes(1_000_000), maxOutputBytes: MiB, testCases: Array.from({ length: count }, () => ({ stdin: '' })) });
      expect(await queue.result(id)).toMatchObject({
        status: 'rejected',
        runnerMode: null,
        message: expect.stringContaining(`output bytes (${count} cases × 2 streams × maxOutputBytes ${MiB}) ${count * 2 * MiB} exceeds the cap ${8 * MiB} (MAX_RESULT_BYTES)`),
      });
    }
    expect(w.logs.filter((l) => l.msg === 'job started')).toHaveLength(2);
  });

  it('4 cases each printing 1 MiB of control bytes on both streams: a real verdict, and the stored result cut to fit MAX_RESULT_BYTES', async () => {
    const queue = suite.newQueue();
    const { w, usualMs } = await readyWorker(queue, mode);
    const id = await queue.submit({ code: controlBytes(MiB), maxOutputBytes: MiB, testCases: Array.from({ length: 4 }, () => ({ stdin: '' })) });
    const duringMs = await trivialLatency(queue);
    const result = await queue.result(id, 120_000);
    expect(duringMs).toBeLessThan(usualMs + 2000);
    expect(w.proc.exitCode).toBeNull();
    expect(result).toMatchObject({ status: 'accepted', resultTrimmed: true, stdoutTruncated: false, stderrTruncated: false });
    expect(result.testCases!.map((c) => c.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    // What is kept is what the program printed, cut short.
    for (const c of result.testCases!) expect(c.stdout).toMatch(/^\x01+$/);
    const stored = await suite.redis.client.strlen(resultKey(id));
    expect(stored).toBeLessThanOrEqual(DEFAULT_CAPS.maxResultBytes);
    expect(stored).toBeGreaterThan(DEFAULT_CAPS.maxResultBytes - MiB);
    // Everything the job left in Redis (result, its announcement, its start) within the cap and a little.
    const keys = [resultKey(id), resultEventsKey(id), jobStartsKey(id)];
    const held = (await Promise.all(keys.map((k) => suite.redis.client.memory('USAGE', k)))).reduce<number>((n, b) => n + Number(b ?? 0), 0);
    expect(held).toBeLessThan(DEFAULT_CAPS.maxResultBytes + 64 * 1024);
  });

  it('64 cases of 60 s wall time are rejected up front (MAX_JOB_WALL_TIME_MS); under a lowered cap, 3 cases of 4 s too, 2 run', async () => {
    const queue = suite.newQueue();
    const { usualMs } = await readyWorker(queue, mode, { MAX_JOB_WALL_TIME_MS: '10000' });
    const sleeper = 'import time\ntime.sleep(0.1)\nprint("slept")';
    const cases = (n: number) => Array.from({ length: n }, () => ({ stdin: '' }));
    const hour = await queue.submit({ code: 'import time\ntime.sleep(60)', wallTimeLimitMs: 60_000, testCases: cases(64) });
    const three = await queue.submit({ code: sleeper, wallTimeLimitMs: 4000, testCases: cases(3) });
    const duringMs = await trivialLatency(queue);
    expect(await queue.result(hour)).toMatchObject({ status: 'rejected', message: expect.stringContaining('total wall time at the limits (compile and every case, ms) 3840000 exceeds the cap 10000 (MAX_JOB_WALL_TIME_MS)') });
    expect(await queue.result(three)).toMatchObject({ status: 'rejected', message: expect.stringContaining('12000 exceeds the cap 10000 (MAX_JOB_WALL_TIME_MS)') });
    expect(duringMs).toBeLessThan(usualMs + 2000);
    const two = await queue.submit({ code: sleeper, wallTimeLimitMs: 4000, testCases: cases(2) });
    expect(await queue.result(two)).toMatchObject({ status: 'accepted', stdout: 'slept\n' });
  });

  it('a 200 KB argument, 20 arguments of 4 KB and 5 MB of expected output are rejected naming their caps; an argument at the cap runs', async () => {
    const queue = suite.newQueue();
    const { w, usualMs } = await readyWorker(queue, mode);
    const long = await queue.submit({ code: 'print(1)', args: ['a'.repeat(200 * 1024)] });
    const many = await queue.submit({ code: 'print(1)', args: Array.from({ length: 20 }, () => 'b'.repeat(4000)) });
    const expected = await queue.submit({ code: 'print(1)', expectedOutput: 'c'.repeat(5 * MiB) });
    const perCase = await queue.submit({ code: 'print(1)', testCases: [{ expectedOutput: 'd'.repeat(3 * MiB) }, { expectedOutput: 'e'.repeat(3 * MiB) }] });
    const atCap = await queue.submit({ code: 'import sys\nprint(len(sys.argv[1]))', args: ['f'.repeat(DEFAULT_CAPS.maxArgBytes)] });
    expect(await queue.result(long)).toMatchObject({ status: 'rejected', message: expect.stringContaining(`args[0] bytes ${200 * 1024} exceeds the cap 4096 (MAX_ARG_BYTES)`) });
    expect(await queue.result(many)).toMatchObject({ status: 'rejected', message: expect.stringContaining('args bytes 80000 exceeds the cap 65536 (MAX_ARGS_BYTES)') });
    expect(await queue.result(expected)).toMatchObject({ status: 'rejected', message: expect.stringContaining(`expectedOutput bytes ${5 * MiB} exceeds the cap ${4 * MiB} (MAX_EXPECTED_OUTPUT_BYTES)`) });
    expect(await queue.result(perCase)).toMatchObject({ status: 'rejected', message: expect.stringContaining(`expectedOutput bytes ${6 * MiB} exceeds the cap ${4 * MiB} (MAX_EXPECTED_OUTPUT_BYTES)`) });
    expect(await queue.result(atCap)).toMatchObject({ status: 'accepted', stdout: `${DEFAULT_CAPS.maxArgBytes}\n`, attempts: 1 });
    expect(await trivialLatency(queue)).toBeLessThan(usualMs + 2000);
    expect(w.proc.exitCode).toBeNull();
  });
});
