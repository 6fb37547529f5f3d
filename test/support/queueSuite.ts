// The fixture of the suites that drive workers through a queue (the worker's own and the fault suites): one
// Redis for the file, and a queue of its own for each test, whose workers are stopped after the test, when
// nothing may be left behind.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { TestQueue } from './jobQueue.js';
import { expectNothingLeft } from './leftovers.js';
import { startRedis, type TestRedis } from './redisServer.js';

export interface QueueSuite {
  readonly redis: TestRedis;
  /** A queue on its own stream for the current test. */
  newQueue(): TestQueue;
}

export function queueSuite(): QueueSuite {
  let redis: TestRedis | undefined;
  let queue: TestQueue | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await queue?.stopWorkers();
    queue = undefined;
    await expectNothingLeft();
  });
  return {
    get redis() {
      if (!redis) throw new Error('the queue suite has not started its Redis yet');
      return redis;
    },
    newQueue() {
      queue = new TestQueue(this.redis);
      return queue;
    },
  };
}
