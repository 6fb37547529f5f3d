// The one table of stack defaults (components/stackConfig.ts STACK_KEYS) against what documents it and what applies
// it: Pulumi.yaml's declared defaults and the ranges and values its descriptions state, README's Config keys table,
// the config rules, and the environment components, which default their args to the same table when built without
// index.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AwsEnvironment } from '../../components/aws/index.js';
import { workerTaskSize } from '../../components/aws/workers.js';
import { cpuUnits } from '../../components/ecsContainers.js';
import { GcpEnvironment } from '../../components/gcp/index.js';
import { ALLOWED_MODES, DEFAULTS, parseStackConfig, STACK_KEYS, StackConfigError, TARGETS, type StackKey } from '../../components/stackConfig.js';
import { capture } from './componentMocks.js';
import { readProjectSchema, ROOT, TEST_CA_PEM } from './harness.js';

const rows = Object.entries(STACK_KEYS) as [keyof typeof STACK_KEYS, StackKey<unknown>][];

describe('Pulumi.yaml against the table', () => {
  const schema = readProjectSchema();

  it('declares exactly the keys of the table, each with its type and default', () => {
    expect(Object.keys(schema).sort()).toEqual(Object.keys(STACK_KEYS).sort());
    const jsType: Record<string, string> = { integer: 'number', boolean: 'boolean', string: 'string' };
    for (const [key, row] of rows) {
      expect(jsType[schema[key].type], `${key}: type`).toBe(typeof row.default);
      expect(schema[key].default, `${key}: default`).toBe(row.default);
    }
  });

  it.each(rows.filter(([, row]) => row.min !== undefined || row.oneOf !== undefined))('the description of %s states what it accepts', (key, row) => {
    const description = String(schema[key].description).replace(/\s+/g, ' ');
    if (row.oneOf) expect(description, key).toContain(row.oneOf.join(', '));
    else if (row.max !== undefined) expect(description, key).toContain(`${row.min}-${row.max}`);
    else expect(description, key).toContain(`>= ${row.min}`);
  });

  it('the description of runnerMode says which modes each target allows', () => {
    const description = String(schema.runnerMode.description).replace(/\s+/g, ' ');
    for (const target of TARGETS) {
      expect(description).toMatch(new RegExp(`\\b${target} allows ${ALLOWED_MODES[target].join(' or ')}(?! or)\\b`));
    }
  });

  it('DEFAULTS is the default column of the table', () => {
    expect(DEFAULTS).toEqual(Object.fromEntries(rows.map(([key, row]) => [key, row.default])));
  });
});

describe("README's Config keys table against the table", () => {
  it('lists every key once, with its default', () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('### Config keys'));
    const documented: Record<string, string> = {};
    for (const line of section.slice(0, section.indexOf('\n#', 1)).split('\n').filter((l) => l.startsWith('| `'))) {
      const [keys, defaults] = line.split('|').slice(1, 3);
      const names = [...keys.matchAll(/`(\w+)`/g)].map((m) => m[1]);
      const values = defaults.split(',').map((v) => v.trim().replace(/^`|`$/g, ''));
      expect(values, line).toHaveLength(names.length);
      names.forEach((n, i) => {
        expect(documented[n], `${n} listed twice`).toBeUndefined();
        documented[n] = values[i];
      });
    }
    expect(documented).toEqual(Object.fromEntries(rows.map(([key, row]) => [key, String(row.default)])));
  });
});

describe('the config rules apply the table', () => {
  const parse = (key: string, value: number) => () => parseStackConfig((k) => (k === key ? String(value) : undefined));

  it.each(rows.filter(([, row]) => row.min !== undefined && row.max !== undefined))('%s accepts its range and nothing outside', (key, row) => {
    expect(parse(key, row.min!)).not.toThrow();
    expect(parse(key, row.max!)).not.toThrow();
    expect(parse(key, row.max! + 1)).toThrow(StackConfigError);
    if (row.min! > 1) expect(parse(key, row.min! - 1)).toThrow(`code-execution:${key} must be between ${row.min} and ${row.max}`);
  });

  it('logRetentionDays accepts its listed values only', () => {
    for (const days of STACK_KEYS.logRetentionDays.oneOf!) expect(parse('logRetentionDays', Number(days))).not.toThrow();
    expect(parse('logRetentionDays', 2)).toThrow(StackConfigError);
  });
});

describe('the environment components default to the table', () => {
  it('AwsEnvironment', async () => {
    const run = await capture(() => new AwsEnvironment('defaults', { region: 'us-east-1', databaseCaBundle: TEST_CA_PEM }));
    expect(run.one('aws:ecs/service:Service', 'defaults-workers').inputs.desiredCount).toBe(DEFAULTS.minWorkers);
    expect(run.one('aws:appautoscaling/target:Target', 'defaults-workers').inputs).toMatchObject({ minCapacity: DEFAULTS.minWorkers, maxCapacity: DEFAULTS.maxWorkers });
    expect(run.one('aws:appautoscaling/policy:Policy', 'defaults-queue-depth').inputs.targetTrackingScalingPolicyConfiguration.targetValue).toBe(DEFAULTS.queueDepthTarget);
    const taskDefinition = run.one('aws:ecs/taskDefinition:TaskDefinition', 'defaults-worker').inputs;
    const [worker, runner] = JSON.parse(taskDefinition.containerDefinitions);
    expect([worker.cpu, worker.memory, runner.cpu, runner.memory]).toEqual([
      cpuUnits(DEFAULTS.workerCpuMillis),
      DEFAULTS.workerMemoryMb,
      cpuUnits(DEFAULTS.runnerCpuMillis),
      DEFAULTS.runnerMemoryMb,
    ]);
    // The task is sized to hold both containers' CPU and memory.
    const size = workerTaskSize(DEFAULTS);
    expect([taskDefinition.cpu, taskDefinition.memory]).toEqual([String(size.cpu), String(size.memory)]);
    expect(worker.environment).toContainEqual({ name: 'MAX_CONCURRENT_JOBS', value: String(DEFAULTS.maxConcurrentJobs) });
    expect(run.one('aws:elasticache/replicationGroup:ReplicationGroup').inputs).toMatchObject({
      nodeType: DEFAULTS.redisNodeType,
      automaticFailoverEnabled: DEFAULTS.multiAz,
    });
    expect(run.one('aws:rds/instance:Instance').inputs).toMatchObject({
      instanceClass: DEFAULTS.dbInstanceClass,
      allocatedStorage: DEFAULTS.dbStorageGb,
      multiAz: DEFAULTS.multiAz,
    });
    expect(run.one('aws:cloudwatch/logGroup:LogGroup', 'defaults-workers').inputs.retentionInDays).toBe(DEFAULTS.logRetentionDays);
    expect(run.one('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs.rules[0].expiration.days).toBe(DEFAULTS.bucketExpirationDays);
  });

  it('GcpEnvironment', async () => {
    const run = await capture(() => new GcpEnvironment('defaults', { project: 'proj-123456', region: 'us-central1' }));
    expect(run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler', 'defaults-workload-workers').inputs.spec).toMatchObject({
      minReplicas: DEFAULTS.minWorkers,
      maxReplicas: DEFAULTS.maxWorkers,
      metrics: [{ external: { target: { averageValue: String(DEFAULTS.queueDepthTarget) } } }],
    });
    const spec = run.one('kubernetes:apps/v1:Deployment', 'defaults-workload-workers').inputs.spec.template.spec;
    expect(spec.containers[0].resources.limits).toEqual({ cpu: `${DEFAULTS.workerCpuMillis}m`, memory: `${DEFAULTS.workerMemoryMb}Mi` });
    expect(spec.initContainers[0].resources.limits).toEqual({ cpu: `${DEFAULTS.runnerCpuMillis}m`, memory: `${DEFAULTS.runnerMemoryMb}Mi` });
    expect(spec.volumes).toContainEqual({ name: 'shared', emptyDir: { medium: 'Memory', sizeLimit: `${DEFAULTS.workspaceSizeMb}Mi` } });
    expect(spec.containers[0].env).toContainEqual({ name: 'MAX_CONCURRENT_JOBS', value: String(DEFAULTS.maxConcurrentJobs) });
    expect(run.one('gcp:redis/instance:Instance').inputs).toMatchObject({ memorySizeGb: DEFAULTS.redisMemoryGb, tier: DEFAULTS.multiAz ? 'STANDARD_HA' : 'BASIC' });
    expect(run.one('gcp:sql/databaseInstance:DatabaseInstance').inputs.settings).toMatchObject({
      tier: DEFAULTS.dbTier,
      diskSize: DEFAULTS.dbStorageGb,
      availabilityType: DEFAULTS.multiAz ? 'REGIONAL' : 'ZONAL',
    });
    expect(run.one('gcp:storage/bucket:Bucket').inputs.lifecycleRules[0].condition.age).toBe(DEFAULTS.bucketExpirationDays);
  });
});
