// Rehearsal of the gcp stack's autoscaling: N worker pods, configured as the stack's Deployment configures them, serve
// /metrics as they do (WorkerMetrics, read from a real Redis holding the backlog); the metrics go the way the stack
// wires them (a PodMonitoring Managed Prometheus scrapes, Cloud Monitoring series, the external metrics adapter the
// stack deploys) into the stack's HPA (under mocks), evaluated by the HPA's formula until the count settles. It must
// settle where the stack is meant to: ceil(backlog / queueDepthTarget) workers, within the HPA's bounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { loadConfig, type WorkerConfig } from '../../worker/config.js';
import { WorkerMetrics } from '../../worker/metrics.js';
import { readStackConfig, runStack, type Inputs, type Registered, type StackRun } from '../pulumi/harness.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { BACKLOG_CASES, makeBacklog } from './backlog.js';
import { hpaExternalAverageValueDesired, intended, managedPrometheusSeries, stackdriverExternalMetric, steadyState, type TimeSeries } from './scalingFormulas.js';

let run: StackRun;
let redis: TestRedis;
const pods: WorkerMetrics[] = [];
beforeAll(async () => {
  run = await runStack('gcp');
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const quiet = createLogger({}, 'error');
const file = readStackConfig('gcp');
const workers = () => run.one('kubernetes:apps/v1:Deployment', '-workload-workers').inputs;

/** The worker's configuration as the stack's pod spec gives it (its plain environment, Redis pointed here). */
function workerConfig(): WorkerConfig {
  const env = Object.fromEntries(
    (workers().spec.template.spec.containers[0].env as { name: string; value?: string }[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
  );
  return loadConfig({ ...env, REDIS_URL: redis.url });
}

/** The PodMonitoring that scrapes the worker pods' metrics port, or a failure that says the metrics go nowhere. */
function workerPodMonitoring(): Registered {
  const template = workers().spec.template;
  const namespace = workers().metadata.namespace;
  const port = (template.spec.containers[0].ports as { name: string; containerPort: number }[]).find((p) => p.name === 'metrics');
  const selects = (m: Inputs) =>
    m.metadata?.namespace === namespace &&
    Object.entries(m.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => template.metadata.labels[k] === v) &&
    (m.spec.endpoints as { port: string | number; path?: string }[]).some((e) => (e.port === port?.name || e.port === port?.containerPort) && (e.path ?? '/metrics') === '/metrics');
  const found = run.all('kubernetes:monitoring.googleapis.com/v1:PodMonitoring').filter((m) => selects(m.inputs));
  if (found.length !== 1) throw new Error(`${found.length} PodMonitorings scrape the worker pods' /metrics: Managed Prometheus ${found.length ? 'would count them twice' : 'never sees the queue'}`);
  return found[0];
}

/** The external metrics API the HPA reads: an APIService of the stack serving external.metrics.k8s.io. */
function externalMetricsApi(): Registered {
  const found = run.all('kubernetes:apiregistration.k8s.io/v1:APIService').filter((a) => a.inputs.spec?.group === 'external.metrics.k8s.io');
  if (found.length !== 1) throw new Error(`${found.length} APIServices serve external.metrics.k8s.io: the HPA's External metric has ${found.length ? 'two sources' : 'no source'}`);
  return found[0];
}

/** What Cloud Monitoring holds after Managed Prometheus scraped `count` worker pods once. */
async function scrape(count: number, monitoring: Registered): Promise<TimeSeries[]> {
  const config = workerConfig();
  while (pods.length < count) pods.push(new WorkerMetrics({ redis: redis.client, streamKey: config.streamKey, consumerGroup: config.consumerGroup }, quiet));
  const cluster = run.one('gcp:container/cluster:Cluster');
  const series: TimeSeries[] = [];
  for (let i = 0; i < count; i++) {
    const target = {
      project_id: file['gcp:project'],
      location: cluster.inputs.location,
      cluster: run.outputs.cluster,
      namespace: monitoring.inputs.metadata.namespace,
      job: monitoring.inputs.metadata.name,
      instance: `code-execution-workers-${i}:metrics`,
    };
    series.push(...managedPrometheusSeries(await pods[i].render(), target));
  }
  return series;
}

describe('gcp: the HPA on what the worker pods export', () => {
  it('the metrics reach the HPA: a PodMonitoring scrapes the workers, an adapter serves external.metrics.k8s.io', () => {
    expect(workerPodMonitoring().inputs.spec.endpoints[0]).toMatchObject({ port: 'metrics' });
    const api = externalMetricsApi().inputs.spec;
    const service = run.all('kubernetes:core/v1:Service').find((s) => s.inputs.metadata.name === api.service.name && s.inputs.metadata.namespace === api.service.namespace);
    expect(service, `the Service ${api.service.namespace}/${api.service.name} behind external.metrics.k8s.io`).toBeDefined();
  });

  it.each(BACKLOG_CASES)('a backlog of %i jobs settles at %i workers: ceil(backlog / 10) within 2..50', async (jobs, expected) => {
    const hpa = run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler', '-workload-workers').inputs.spec;
    const bounds = { min: hpa.minReplicas as number, max: hpa.maxReplicas as number };
    expect(intended(jobs, Number(file['code-execution:queueDepthTarget']), bounds)).toBe(expected);
    expect(hpa.metrics).toHaveLength(1);
    const [{ type, external }] = hpa.metrics;
    expect([type, external.target.type]).toEqual(['External', 'AverageValue']);
    const monitoring = workerPodMonitoring();
    externalMetricsApi();

    await makeBacklog(redis.client, workerConfig(), jobs);
    const settled = await steadyState(bounds.min, async (current) => {
      const values = stackdriverExternalMetric(external.metric.name, external.metric.selector?.matchLabels ?? {}, await scrape(current, monitoring));
      return hpaExternalAverageValueDesired(current, values, Number(external.target.averageValue), bounds);
    });
    expect(settled).toBe(expected);
  });
});
