// The same tests that run on one Redis node, again on a real 3-master Redis Cluster (a replica per master) that
// each suite starts itself: TEST_REDIS=cluster makes queueSuite and apiSuite start one and give REDIS_CLUSTER=true
// to every worker, CLI and API they run. A test that restarts a node keeps its single Redis (redisOutage).
import { describe } from 'vitest';

process.env.TEST_REDIS = 'cluster';

const SUITES = [
  '../worker/worker.test.js',
  './boundedStream.test.js',
  '../faults/workerKilled.test.js',
  '../faults/workerStopped.test.js',
  '../faults/duplicateDelivery.test.js',
  '../faults/poisonJobs.test.js',
  '../api/smoke.test.js',
  '../api/events.test.js',
  '../api/judge0.test.js',
  '../api/piston.test.js',
  '../api/tenants.test.js',
  '../api/hostile.test.js',
];

describe('on a 3-master Redis Cluster', async () => {
  for (const suite of SUITES) {
    await describe(suite.replace(/^\.\.\/|\.test\.js$/g, ''), async () => {
      await import(suite);
    });
  }
});
