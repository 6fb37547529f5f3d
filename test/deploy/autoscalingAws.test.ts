// Rehearsal of the aws stack's autoscaling: N workers, configured as the stack's task definition configures them,
// publish the queue as they do (CloudWatchPublisher, read from a real Redis holding the backlog, recorded by a local
// CloudWatch stand-in); ECS Container Insights adds the service's RunningTaskCount; the stack's target-tracking policy
// (under mocks) is evaluated on those datapoints by target tracking's formula until the count settles. It must settle
// where the stack is meant to: ceil(backlog / queueDepthTarget) workers, within the scalable target's bounds.
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { CloudWatchPublisher } from '../../worker/cloudwatchPublisher.js';
import { loadConfig, type WorkerConfig } from '../../worker/config.js';
import { runStack, type StackRun } from '../pulumi/harness.js';
import { startCloudWatchRecorder, type CloudWatchRecorder } from '../support/cloudwatchRecorder.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { BACKLOG_CASES, makeBacklog } from './backlog.js';
import { customizedMetricValue, intended, steadyState, targetTrackingDesired, type CustomizedMetric, type Datapoint } from './scalingFormulas.js';

let run: StackRun;
let redis: TestRedis;
let recorder: CloudWatchRecorder;
let client: CloudWatchClient;
beforeAll(async () => {
  run = await runStack('aws');
  [redis, recorder] = await Promise.all([startRedis(), startCloudWatchRecorder()]);
  client = new CloudWatchClient({ region: 'us-east-1', endpoint: recorder.url, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
});
afterAll(async () => {
  client?.destroy();
  await Promise.all([redis?.stop(), recorder?.stop()]);
});

const quiet = createLogger({}, 'error');

/** The worker's configuration as the stack's task definition gives it (its plain environment, Redis pointed here). */
function workerConfig(): WorkerConfig {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const [worker] = JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition', '-worker').inputs.containerDefinitions) as any[];
  const env = Object.fromEntries((worker.environment as { name: string; value: string }[]).map((e) => [e.name, e.value]));
  return loadConfig({ ...env, REDIS_URL: redis.url });
}

/** One period's datapoints: what `workers` workers publish, and Container Insights' count of the service's tasks. */
async function period(config: WorkerConfig, workers: number, service: { cluster: string; service: string }): Promise<Datapoint[]> {
  recorder.calls.length = 0;
  const publishers = Array.from(
    { length: workers },
    () => new CloudWatchPublisher({ redis: redis.client, streamKey: config.streamKey, consumerGroup: config.consumerGroup, namespace: config.cloudwatchNamespace, region: config.awsRegion, client, log: quiet }),
  );
  const published = await Promise.all(publishers.map((p) => p.publish()));
  expect(published.every((q) => q !== null), 'every worker published').toBe(true);
  const datapoints: Datapoint[] = recorder.calls.flatMap((c) =>
    c.body.MetricData.map((d) => ({
      namespace: c.body.Namespace,
      metricName: d.MetricName,
      dimensions: Object.fromEntries(((d.Dimensions ?? []) as { Name: string; Value: string }[]).map((x) => [x.Name, x.Value])),
      value: d.Value,
    })),
  );
  datapoints.push({ namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount', dimensions: { ClusterName: service.cluster, ServiceName: service.service }, value: workers });
  return datapoints;
}

describe('aws: target tracking on what the workers publish', () => {
  it.each(BACKLOG_CASES)('a backlog of %i jobs settles at %i workers: ceil(backlog / 10) within 2..50', async (jobs, expected) => {
    const config = workerConfig();
    expect(config.cloudwatchMetrics).toBe(true);
    const target = run.one('aws:appautoscaling/target:Target', '-workers').inputs;
    const bounds = { min: target.minCapacity as number, max: target.maxCapacity as number };
    const [, cluster, service] = String(target.resourceId).split('/');
    const policy = run.one('aws:appautoscaling/policy:Policy', '-queue-depth').inputs.targetTrackingScalingPolicyConfiguration;
    expect(intended(jobs, policy.targetValue, bounds)).toBe(expected);

    await makeBacklog(redis.client, config, jobs);
    const settled = await steadyState(bounds.min, async (current) => {
      const metric = customizedMetricValue(policy.customizedMetricSpecification as CustomizedMetric, await period(config, current, { cluster, service }));
      return targetTrackingDesired(current, metric, policy.targetValue, bounds);
    });
    expect(settled).toBe(expected);
  });
});
