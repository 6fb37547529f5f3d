import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeWithoutRun, type JobResult } from '../../core/protocol/result.js';
import { resultEventsKey, resultKey } from '../../core/keys.js';
import { getResult, storeResult, waitForResult } from '../../worker/resultStore.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

function result(id: string, status: JobResult['status'], worker: string): JobResult {
  return { ...outcomeWithoutRun(status, null as unknown as string), id, language: 'python', runnerMode: 'process', worker, attempts: 1, startedAt: '', finishedAt: '' };
}

describe('result store', () => {
  it('keeps the first result: a redelivered job never replaces it', async () => {
    expect(await storeResult(redis.client, result('dup', 'accepted', 'first'), 60)).toBe(true);
    expect(await storeResult(redis.client, result('dup', 'internal_error', 'second'), 60)).toBe(false);
    expect(await getResult(redis.client, 'dup')).toMatchObject({ status: 'accepted', worker: 'first' });
    expect(await redis.client.xlen(resultEventsKey('dup'))).toBe(1);
    const ttl = await redis.client.ttl(resultKey('dup'));
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('a waiter blocks until the result is stored and wakes at once', async () => {
    const waiter = redis.client.duplicate();
    const begun = Date.now();
    const waiting = waitForResult(waiter, 'later', 10_000);
    setTimeout(() => void storeResult(redis.client, result('later', 'accepted', 'w'), 60), 300);
    const r = await waiting;
    waiter.disconnect();
    expect(r).toMatchObject({ id: 'later', status: 'accepted' });
    expect(Date.now() - begun).toBeLessThan(2000);
  });

  it('a waiter that comes after the result gets it too, and a missing one times out with null', async () => {
    await storeResult(redis.client, result('early', 'wrong_answer', 'w'), 60);
    const waiter = redis.client.duplicate();
    expect(await waitForResult(waiter, 'early', 1000)).toMatchObject({ status: 'wrong_answer' });
    expect(await waitForResult(waiter, 'never', 300)).toBeNull();
    waiter.disconnect();
  });
});
