// What each platform's autoscaler computes from the metrics the workers publish, as the platforms document it, for the
// autoscaling rehearsals (autoscalingAws.test.ts, autoscalingGcp.test.ts). The stacks' own specs (under mocks) are
// evaluated here; nothing of the stack is assumed.
//
// AWS Application Auto Scaling, target tracking: desired = ceil(current × metric / target), within the scalable
// target's bounds. The metric is the policy's customized metric: one metric and a statistic over every datapoint of
// the period (no dimensions: only the datapoints published without dimensions), or a metric math query whose one
// returned expression combines `metricStat` queries.
//
// Kubernetes HPA (autoscaling/v2), External metric with an AverageValue target: usage = the sum of every value the
// external metrics API returns for the metric and its selector; desired = ceil(usage / averageValue), unless
// usage / (averageValue × current) is within the tolerance (0.1) of 1; within minReplicas..maxReplicas.
// The external metrics API on GKE is the Custom Metrics Stackdriver Adapter (k8s-stackdriver,
// custom-metrics-stackdriver-adapter/pkg/adapter/translator): metric `a|b|c` is Cloud Monitoring's `a/b/c`, the
// selector's `metric.labels.*` and `resource.labels.*` keys filter the time series, and a `reducer` key reduces them
// across series into one (crossSeriesReducer); without it every matching series is returned.
// Google Managed Prometheus stores each sample a PodMonitoring scrapes as `prometheus.googleapis.com/<name>/gauge`
// (a gauge), with the resource labels project_id, location, cluster, namespace, job, instance of the scraped target
// and the sample's own labels as metric labels.

/** A datapoint as CloudWatch holds it. */
export interface Datapoint {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  value: number;
}

interface MetricStat {
  metric: { namespace: string; metricName: string; dimensions?: { name: string; value: string }[] };
  stat: string;
}
/** The customizedMetricSpecification of a target-tracking policy, as the stack registers it. */
export interface CustomizedMetric {
  namespace?: string;
  metricName?: string;
  statistic?: string;
  dimensions?: { name: string; value: string }[];
  metrics?: { id: string; expression?: string; metricStat?: MetricStat; returnData?: boolean }[];
}

function statistic(values: number[], stat: string): number {
  if (!values.length) throw new Error('no datapoints for the metric: target tracking takes no action without data');
  switch (stat) {
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'SampleCount':
      return values.length;
  }
  throw new Error(`statistic ${stat} is not one target tracking takes`);
}

/** CloudWatch matches a metric by namespace, name and exactly its dimensions (none: only datapoints without any). */
function select(datapoints: Datapoint[], namespace: string, metricName: string, dimensions: { name: string; value: string }[] = []): number[] {
  const want = Object.fromEntries(dimensions.map((d) => [d.name, d.value]));
  return datapoints
    .filter((d) => d.namespace === namespace && d.metricName === metricName)
    .filter((d) => Object.keys(d.dimensions).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => d.dimensions[k] === v))
    .map((d) => d.value);
}

/** The value of a policy's customized metric over one period's datapoints. */
export function customizedMetricValue(spec: CustomizedMetric, datapoints: Datapoint[]): number {
  if (!spec.metrics) return statistic(select(datapoints, spec.namespace!, spec.metricName!, spec.dimensions), spec.statistic!);
  const values = new Map<string, number>();
  for (const q of spec.metrics) if (q.metricStat) values.set(q.id, statistic(select(datapoints, q.metricStat.metric.namespace, q.metricStat.metric.metricName, q.metricStat.metric.dimensions), q.metricStat.stat));
  const returned = spec.metrics.filter((q) => q.returnData !== false);
  if (returned.length !== 1) throw new Error(`a target-tracking metric math query returns exactly one series; this one returns ${returned.length}`);
  const out = returned[0];
  if (out.metricStat) return values.get(out.id)!;
  // The arithmetic target tracking needs here: one binary operation on two queries or numbers.
  const m = out.expression?.match(/^\s*(\w+(?:\.\d+)?)\s*([-+*/])\s*(\w+(?:\.\d+)?)\s*$/);
  if (!m) throw new Error(`expression ${JSON.stringify(out.expression)} is not one this model evaluates`);
  const operand = (t: string) => (/^\d/.test(t) ? Number(t) : values.get(t) ?? Number.NaN);
  const [a, b] = [operand(m[1]), operand(m[3])];
  const result = m[2] === '+' ? a + b : m[2] === '-' ? a - b : m[2] === '*' ? a * b : a / b;
  if (!Number.isFinite(result)) throw new Error(`expression ${out.expression} gives ${result}: CloudWatch returns no datapoint`);
  return result;
}

const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

/** One evaluation of target tracking. */
export function targetTrackingDesired(current: number, metric: number, target: number, bounds: { min: number; max: number }): number {
  return clamp(Math.ceil((current * metric) / target), bounds.min, bounds.max);
}

/** A time series as Cloud Monitoring holds it (latest value only: one alignment window). */
export interface TimeSeries {
  type: string;
  metricLabels: Record<string, string>;
  resourceLabels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus exposition text: name, labels, value. */
export function prometheusSamples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * What Managed Prometheus stores from one scrape of one target: each sample of a gauge or counter (by its `# TYPE`
 * line) as a prometheus_target series `prometheus.googleapis.com/<name>/<gauge|counter>`.
 */
export function managedPrometheusSeries(exposition: string, target: Record<string, string>): TimeSeries[] {
  const kinds = new Map([...exposition.matchAll(/^# TYPE (\S+) (gauge|counter)$/gm)].map((m) => [m[1], m[2]]));
  return prometheusSamples(exposition)
    .filter((s) => kinds.has(s.name))
    .map((s) => ({ type: `prometheus.googleapis.com/${s.name}/${kinds.get(s.name)}`, metricLabels: s.labels, resourceLabels: target, value: s.value }));
}

const REDUCERS: Record<string, (v: number[]) => number> = {
  REDUCE_MAX: (v) => Math.max(...v),
  REDUCE_MIN: (v) => Math.min(...v),
  REDUCE_SUM: (v) => v.reduce((a, b) => a + b, 0),
  REDUCE_MEAN: (v) => v.reduce((a, b) => a + b, 0) / v.length,
  REDUCE_COUNT: (v) => v.length,
};

/** The values the Stackdriver adapter returns for an HPA's external metric (its name and selector's matchLabels). */
export function stackdriverExternalMetric(name: string, matchLabels: Record<string, string>, series: TimeSeries[]): number[] {
  const type = name.replaceAll('|', '/');
  const { reducer, ...filters } = matchLabels;
  const matching = series.filter((s) => {
    if (s.type !== type) return false;
    return Object.entries(filters).every(([key, value]) => {
      if (key.startsWith('metric.labels.')) return s.metricLabels[key.slice('metric.labels.'.length)] === value;
      if (key.startsWith('resource.labels.')) return s.resourceLabels[key.slice('resource.labels.'.length)] === value;
      throw new Error(`the adapter refuses selector key ${key}`);
    });
  });
  if (!matching.length) throw new Error(`no time series of ${type} match ${JSON.stringify(filters)}: the HPA gets no metric and does not scale`);
  if (reducer === undefined) return matching.map((s) => s.value);
  const reduce = REDUCERS[reducer];
  if (!reduce) throw new Error(`reducer ${reducer} is not one this model knows`);
  return [reduce(matching.map((s) => s.value))];
}

/** One evaluation of an HPA on an External metric with an AverageValue target (tolerance 0.1, as kube-controller-manager's default). */
export function hpaExternalAverageValueDesired(current: number, values: number[], averageValue: number, bounds: { min: number; max: number }): number {
  const usage = values.reduce((a, b) => a + b, 0);
  const ratio = usage / (averageValue * current);
  const desired = Math.abs(ratio - 1) <= 0.1 ? current : Math.ceil(usage / averageValue);
  return clamp(desired, bounds.min, bounds.max);
}

/** Runs `step` from `start` until the count stops changing (the autoscaler's steady state); throws if it never does. */
export function steadyState(start: number, step: (current: number) => Promise<number> | number, limit = 20): Promise<number> {
  return (async () => {
    let current = start;
    for (let i = 0; i < limit; i++) {
      const next = await step(current);
      if (next === current) return current;
      current = next;
    }
    throw new Error(`no steady state after ${limit} evaluations (last ${current})`);
  })();
}

/** What the stacks are meant to give: one worker per 10 waiting jobs, within 2..50 (the seed's rule). */
export const intended = (backlog: number, perWorker: number, bounds: { min: number; max: number }): number => clamp(Math.ceil(backlog / perWorker), bounds.min, bounds.max);
