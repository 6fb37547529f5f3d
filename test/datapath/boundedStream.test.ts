// The stream stays bounded: acknowledged entries are trimmed while pending and undelivered ones stay, through a
// worker that dies with jobs in hand and its replacement; the dead-letter stream keeps DEAD_LETTER_MAXLEN entries.
// Workers run in this process on a real Redis with a transport that answers at once (ScriptedTransport): the
// queue is under test here, not the sandbox, and 2,000 real sandboxes would take minutes.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { loadConfig } from '../../worker/config.js';
import { deadLetterKey, resultEventsKey } from '../../core/keys.js';
import { sampleQueue } from '../../worker/queueDepth.js';
import { getResult, resultExists } from '../../worker/resultStore.js';
import { StreamWorker } from '../../worker/streamConsumer.js';
import { trimAcknowledged } from '../../worker/streamTrim.js';
import { recordingLogger } from '../support/recordingLogger.js';
import { ON_CLUSTER } from '../support/queueSuite.js';
import { startRedisCluster, type TestCluster } from '../support/redisCluster.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { ScriptedTransport } from '../support/scriptedTransport.js';

let redis: TestRedis | TestCluster;
const workers: StreamWorker[] = [];

beforeAll(async () => {
  redis = ON_CLUSTER ? await startRedisCluster() : await startRedis();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(() => redis?.stop());

/** A transport whose runs can be made to hang, as a worker's do when it dies with jobs in hand. */
class HangingTransport extends ScriptedTransport {
  hanging = false;
  readonly hung: string[] = [];
  override run(job: Job): Promise<RunOutcome> {
    if (!this.hanging) return super.run(job);
    this.hung.push(job.id);
    return new Promise(() => {});
  }
}

function start(stream: string, transport: ScriptedTransport, env: Record<string, string> = {}): StreamWorker {
  const config = loadConfig({
    REDIS_URL: redis.url, REDIS_CLUSTER: String(redis.cluster), STREAM_KEY: stream, READ_BLOCK_MS: '100', CLAIM_IDLE_MS: '1000', TRIM_INTERVAL_MS: '50',
    MAX_CONCURRENT_JOBS: '8', SHUTDOWN_GRACE_MS: '0', RUNNER_MODE: 'process', ...env,
  });
  const worker = new StreamWorker(config, `w-${randomUUID().slice(0, 8)}`, transport, recordingLogger());
  workers.push(worker);
  return worker;
}

const until = async (what: string, done: () => Promise<boolean> | boolean, timeoutMs = 30_000) => {
  for (const end = Date.now() + timeoutMs; !(await done());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('a bounded stream', () => {
  it('2,000 jobs: acknowledged entries are trimmed, none pending is lost, through a worker that dies with jobs in hand', async () => {
    const stream = `jobs-${randomUUID()}`;
    const dying = new HangingTransport();
    const first = start(stream, new ScriptedTransport());
    const second = start(stream, dying);
    await Promise.all([first.start(), second.start()]);

    const ids: string[] = [];
    /** Entries in the stream that are neither waiting nor pending: acknowledged and not trimmed yet. */
    let mostDone = 0;
    let mostLength = 0;
    let sampling = true;
    const submit = async (count: number) => {
      for (let batch = 0; batch < count / 50; batch++) {
        const pipeline = redis.client.pipeline();
        for (let i = 0; i < 50; i++) {
          const id = randomUUID();
          ids.push(id);
          pipeline.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'python', code: 'print(1)' }));
        }
        await pipeline.exec();
        const q = await sampleQueue(redis.client, stream, 'execution-workers');
        mostLength = Math.max(mostLength, q.length);
        if (sampling) mostDone = Math.max(mostDone, q.length - q.lag - q.pending);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    await submit(1000);
    // The second worker dies with jobs in hand: its entries stay pending, and no trim may take them. Until they
    // are reclaimed (CLAIM_IDLE_MS), the entries after the oldest of them wait for trimming too (MINID).
    sampling = false;
    dying.hanging = true;
    await until('the dying worker to hold jobs', () => dying.hung.length >= 3);
    await second.close();
    const replacement = start(stream, new ScriptedTransport());
    await replacement.start();
    await submit(1000);

    // One key per command: on a cluster the results are on every master.
    await until('every result', async () => (await Promise.all(ids.map((id) => resultExists(redis.client, id)))).every(Boolean), 60_000);
    const results = await Promise.all(ids.map((id) => getResult(redis.client, id)));
    expect(results.filter((r) => r?.status !== 'accepted')).toEqual([]);
    // The jobs the dead worker held were reclaimed (their second delivery), each stored once.
    for (const id of dying.hung) expect(results[ids.indexOf(id)]).toMatchObject({ attempts: 2 });
    const announced = await Promise.all(ids.map((id) => redis.client.xlen(resultEventsKey(id))));
    expect(announced.every((n) => n === 1)).toBe(true);

    await until('nothing pending', async () => (await sampleQueue(redis.client, stream, 'execution-workers')).pending === 0);
    await until('the stream trimmed empty', async () => (await redis.client.xlen(stream)) === 0);
    // Bounded: with nothing stuck, what was acknowledged left within a trim interval or two (a few hundred of
    // 2,000) while the entries waiting or pending stayed; the stream never held every job.
    process.stderr.write(`${JSON.stringify({ msg: 'bounded stream', jobs: ids.length, reclaimed: dying.hung.length, mostAcknowledgedInStream: mostDone, mostLength })}\n`);
    expect(mostDone).toBeLessThan(500);
    expect(mostLength).toBeLessThan(2000);
    const q = await sampleQueue(redis.client, stream, 'execution-workers');
    expect(q).toEqual({ length: 0, pending: 0, lag: 0 });
  });

  it('never trims an entry that is pending or not yet delivered', async () => {
    const stream = `jobs-${randomUUID()}`;
    await redis.client.xgroup('CREATE', stream, 'execution-workers', '0', 'MKSTREAM');
    const entry = () => redis.client.xadd(stream, '*', 'job', '{}') as Promise<string>;
    const [acked, pending, later] = [await entry(), await entry(), await entry()];
    await redis.client.xreadgroup('GROUP', 'execution-workers', 'c', 'COUNT', 2, 'STREAMS', stream, '>');
    await redis.client.xack(stream, 'execution-workers', acked);
    expect(await trimAcknowledged(redis.client, stream)).toBe(1);
    expect((await redis.client.xrange(stream, '-', '+')).map(([id]) => id)).toEqual([pending, later]);
    // A second group that has read nothing holds everything back.
    await redis.client.xack(stream, 'execution-workers', pending);
    await redis.client.xgroup('CREATE', stream, 'audit', '0');
    expect(await trimAcknowledged(redis.client, stream)).toBe(0);
    expect(await redis.client.xlen(stream)).toBe(2);
  });

  it('keeps the newest DEAD_LETTER_MAXLEN dead letters', async () => {
    const stream = `jobs-${randomUUID()}`;
    const worker = start(stream, new ScriptedTransport(), { DEAD_LETTER_MAXLEN: '10' });
    await worker.start();
    for (let i = 0; i < 30; i++) await redis.client.xadd(stream, '*', 'payload', `no job field ${i}`);
    await until('30 entries handled', async () => (await sampleQueue(redis.client, stream, 'execution-workers')).lag === 0 && (await redis.client.xpending(stream, 'execution-workers') as [number])[0] === 0);
    const dead = await redis.client.xrange(deadLetterKey(stream), '-', '+');
    expect(dead).toHaveLength(10);
    expect(dead.at(-1)![1]).toContain(JSON.stringify({ payload: 'no job field 29' }));
  });
});
