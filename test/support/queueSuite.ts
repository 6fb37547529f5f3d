// The fixture of the suites that drive workers through a queue (the worker's own and the fault suites): one
// Redis for the file, and a queue of its own for each test, whose workers are stopped after the test, when
// nothing may be left behind.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { TestQueue } from './jobQueue.js';
import { expectNothingLeft } from './leftovers.js';
import { startRedisCluster, type TestCluster } from './redisCluster.js';
import { startRedis, type TestRedis } from './redisServer.js';
import { dockerAvailable } from './services.js';

/** TEST_REDIS=cluster: the suites that read it run on a 3-master Redis Cluster instead of one node (onCluster.test.ts). */
export const ON_CLUSTER = process.env.TEST_REDIS === 'cluster';

/**
 * The transports a queue suite runs its tests on: process, and docker when the engine is here. On a cluster only
 * process: how a transport runs a job does not depend on Redis's topology, and the docker runs are the single
 * Redis ones' (CI time).
 */
export async function queueSuiteModes(): Promise<string[]> {
  return ['process', ...(!ON_CLUSTER && (await dockerAvailable()) ? ['docker'] : [])];
}

export interface QueueSuite<R extends TestRedis | TestCluster = TestRedis | TestCluster> {
  readonly redis: R;
  /** A queue on its own stream for the current test. */
  newQueue(): TestQueue;
}

/** With `{ node: true }` always one Redis node (a test that restarts it); else a cluster under TEST_REDIS=cluster. */
export function queueSuite(): QueueSuite;
export function queueSuite(opts: { node: true }): QueueSuite<TestRedis>;
export function queueSuite(opts: { node?: boolean } = {}): QueueSuite {
  let redis: TestRedis | TestCluster | undefined;
  let queue: TestQueue | undefined;
  beforeAll(async () => {
    redis = ON_CLUSTER && !opts.node ? await startRedisCluster() : await startRedis();
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
