// The Pulumi program against each committed stack file, under mocks (no CLI, no engine, no providers),
// plus the config rules on their own. The stack files are the source of truth: each test reads the file
// and checks the program's exports against it, so editing a stack file cannot silently drift.
// The stack files and the config rules: the stack files are the source of truth (each per-stack test file,
// local/aws/gcp.test.ts, runs index.ts under mocks with its file's config), and parseStackConfig /
// parseCloudLocation refuse a wrong value with an error that names the key and the fix.
import * as pulumi from '@pulumi/pulumi';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, parseCloudLocation, parseStackConfig, StackConfigError } from '../../components/stackConfig.js';
import { readProjectSchema, readStackConfig } from './harness.js';

afterEach(() => pulumi.runtime.setAllConfig({}));

describe('stack files', () => {
  it('the stack files hold the agreed values', () => {
    expect(readStackConfig('local')).toEqual({
      'code-execution:target': 'local',
      'code-execution:runnerMode': 'docker',
      'code-execution:maxConcurrentJobs': '2',
      'code-execution:minWorkers': '1',
      'code-execution:maxWorkers': '1',
    });
    expect(readStackConfig('aws')).toMatchObject({
      'aws:region': 'us-east-1',
      'code-execution:target': 'aws',
      'code-execution:runnerMode': 'sidecar',
      'code-execution:minWorkers': '2',
      'code-execution:maxWorkers': '50',
      'code-execution:queueDepthTarget': '10',
      'code-execution:maxConcurrentJobs': '1',
      'code-execution:multiAz': 'true',
    });
    expect(readStackConfig('gcp')).toMatchObject({
      'gcp:project': 'code-execution-demo',
      'gcp:region': 'us-central1',
      'code-execution:target': 'gcp',
      'code-execution:runnerMode': 'sidecar',
      'code-execution:maxConcurrentJobs': '1',
      'code-execution:minWorkers': '2',
      'code-execution:maxWorkers': '50',
    });
  });

  it('every stack file passes the config rules', () => {
    for (const stack of ['local', 'aws', 'gcp']) {
      const file = readStackConfig(stack);
      const settings = parseStackConfig((key) => file[`code-execution:${key}`]);
      expect(settings.target).toBe(stack);
      expect(() => parseCloudLocation(settings.target, (key) => file[key])).not.toThrow();
    }
  });

  it('an invalid stack fails the program at import, naming the key', async () => {
    pulumi.runtime.setAllConfig({ 'code-execution:target': 'aws', 'code-execution:runnerMode': 'docker', 'aws:region': 'us-east-1' });
    await pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name, state: a.inputs }), call: (a) => a.inputs }, 'code-execution', 'aws', false);
    vi.resetModules();
    await expect(import('../../index.js')).rejects.toThrow(/code-execution:runnerMode "docker" cannot work on target aws/);
  });

  it('Pulumi.yaml declares every key with a type, a description and the default DEFAULTS holds', () => {
    const schema = readProjectSchema();
    expect(Object.keys(schema).sort()).toEqual(Object.keys(DEFAULTS).sort());
    const jsType = { integer: 'number', boolean: 'boolean', string: 'string' } as Record<string, string>;
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect(schema[key].description, key).toBeTruthy();
      expect(jsType[schema[key].type], `${key} type`).toBe(typeof value);
      expect(schema[key].default, key).toBe(value);
    }
  });
});

describe('parseStackConfig', () => {
  const from = (values: Record<string, string>) => (key: string) => values[key];
  const refusal = (values: Record<string, string>): StackConfigError => {
    try {
      parseStackConfig(from(values));
    } catch (e) {
      expect(e).toBeInstanceOf(StackConfigError);
      return e as StackConfigError;
    }
    throw new Error(`accepted ${JSON.stringify(values)}`);
  };

  it('uses the Pulumi.yaml defaults when nothing is set', () => {
    expect(parseStackConfig(() => undefined)).toEqual(DEFAULTS);
  });

  it('refuses docker on aws, naming code-execution:runnerMode and the fix', () => {
    const e = refusal({ target: 'aws', runnerMode: 'docker' });
    expect(e.keys).toEqual(['code-execution:runnerMode']);
    expect(e.message).toBe(
      'code-execution:runnerMode "docker" cannot work on target aws (Fargate has no Docker socket); ' +
        'set it with: pulumi config set code-execution:runnerMode sidecar',
    );
  });

  it('refuses an aws stack that leaves runnerMode at its docker default', () => {
    expect(refusal({ target: 'aws' }).keys).toEqual(['code-execution:runnerMode']);
  });

  it.each([
    ['local', 'sidecar', 'docker'],
    ['local', 'kubernetes', 'docker'],
    ['local', 'process', 'docker'],
    ['aws', 'process', 'sidecar'],
    ['aws', 'kubernetes', 'sidecar'],
    ['gcp', 'docker', 'sidecar'],
    ['gcp', 'process', 'sidecar'],
  ])('refuses %s + %s and suggests %s', (target, runnerMode, suggestion) => {
    const e = refusal({ target, runnerMode });
    expect(e.keys).toEqual(['code-execution:runnerMode']);
    expect(e.message).toContain(`cannot work on target ${target}`);
    expect(e.message).toContain(`pulumi config set code-execution:runnerMode ${suggestion}`);
  });

  it.each([
    ['local', 'docker'],
    ['aws', 'sidecar'],
    ['gcp', 'sidecar'],
    ['gcp', 'kubernetes'],
  ])('accepts %s + %s', (target, runnerMode) => {
    expect(parseStackConfig(from({ target, runnerMode }))).toMatchObject({ target, runnerMode });
  });

  it('refuses an unknown runner mode, naming the key', () => {
    const e = refusal({ target: 'gcp', runnerMode: 'lambda' });
    expect(e.keys).toEqual(['code-execution:runnerMode']);
    expect(e.message).toMatch(/^code-execution:runnerMode "lambda" is not a runner mode/);
  });

  it('refuses a bad target, naming code-execution:target', () => {
    const e = refusal({ target: 'azure' });
    expect(e.keys).toEqual(['code-execution:target']);
    expect(e.message).toContain('code-execution:target "azure" is not a target; use one of local, aws, gcp');
    expect(e.message).toContain('pulumi config set code-execution:target local');
  });

  it('refuses minWorkers > maxWorkers, naming both keys', () => {
    const e = refusal({ target: 'aws', runnerMode: 'sidecar', minWorkers: '5', maxWorkers: '2' });
    expect(e.keys).toEqual(['code-execution:minWorkers', 'code-execution:maxWorkers']);
    expect(e.message).toContain('code-execution:minWorkers (5)');
    expect(e.message).toContain('code-execution:maxWorkers (2)');
  });

  it.each(['maxConcurrentJobs', 'minWorkers', 'maxWorkers', 'queueDepthTarget'])('refuses a non-positive or non-integer %s', (key) => {
    for (const bad of ['0', '-1', '1.5', 'two', '', '1e3']) {
      const e = refusal({ [key]: bad });
      expect(e.keys).toEqual([`code-execution:${key}`]);
      expect(e.message).toContain(`code-execution:${key} must be a whole number >= 1, got ${JSON.stringify(bad)}`);
      expect(e.message).toContain(`pulumi config set code-execution:${key} `);
    }
  });

  it('refuses local + process, explaining the host alternative', () => {
    expect(refusal({ target: 'local', runnerMode: 'process' }).message).toContain('run `code-exec worker` on the host with RUNNER_MODE=process');
  });

  it.each([
    ['logRetentionDays', '10', /code-execution:logRetentionDays 10 is not a retention CloudWatch Logs accepts/],
    ['multiAz', 'yes', /code-execution:multiAz must be true or false, got "yes"/],
    ['redisNodeType', 't4g.micro', /code-execution:redisNodeType must be an ElastiCache node type like cache.t4g.micro/],
    ['dbInstanceClass', 'postgres', /code-execution:dbInstanceClass must be an RDS instance class/],
    ['dbTier', 'small', /code-execution:dbTier must be a Cloud SQL tier/],
    ['workerCpuMillis', '50', /code-execution:workerCpuMillis must be between 100 and 16000 millicores, got 50/],
    ['dbStorageGb', '10', /code-execution:dbStorageGb must be between 20 and 65536 GB, got 10/],
    ['localRedisPort', '70000', /code-execution:localRedisPort must be between 1 and 65535, got 70000/],
    ['runnerLanguages', 'python,malbolge', /code-execution:runnerLanguages must be all or names of python, javascript, .*; unknown: malbolge/],
    ['runnerLanguages', ' , ', /code-execution:runnerLanguages must be all or names of .*; got none/],
  ])('refuses a wrong %s (%s), naming the key and the fix', (key, bad, message) => {
    const e = refusal({ [key]: bad });
    expect(e.keys).toEqual([`code-execution:${key}`]);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`pulumi config set code-execution:${key} `);
  });

  it('runnerLanguages: all by default, else the names given, trimmed and once each', () => {
    expect(parseStackConfig(from({})).runnerLanguages).toBe('all');
    expect(parseStackConfig(from({ runnerLanguages: ' python, c,python ' })).runnerLanguages).toBe('python,c');
  });

  it('MAX_CONCURRENT_JOBS defaults to 1, what sidecar mode needs (its runner runs one job at a time)', () => {
    expect(DEFAULTS.maxConcurrentJobs).toBe(1);
    expect(parseStackConfig(from({ target: 'aws', runnerMode: 'sidecar' })).maxConcurrentJobs).toBe(1);
    expect(parseStackConfig(from({ target: 'gcp', runnerMode: 'sidecar' })).maxConcurrentJobs).toBe(1);
  });

  it('refuses a runner sidecar too small for the largest job, naming code-execution:runnerMemoryMb and the fix', () => {
    // aws: /workspace is task storage, so the largest job (1024) + the sandbox overhead (224) + the sidecar (128).
    const aws = refusal({ target: 'aws', runnerMode: 'sidecar', runnerMemoryMb: '1375' });
    expect(aws.keys).toEqual(['code-execution:runnerMemoryMb']);
    expect(aws.message).toBe(
      'code-execution:runnerMemoryMb 1375 MB is too small for the runner sidecar, which needs the largest job memory limit (1024 MB, MAX_MEMORY_LIMIT_MB) + ' +
        '224 MB sandbox overhead + 128 MB for the sidecar\'s executor and the output it holds = 1376 MB; set it with: pulumi config set code-execution:runnerMemoryMb 1376',
    );
    expect(parseStackConfig(from({ target: 'aws', runnerMode: 'sidecar', runnerMemoryMb: '1376' })).runnerMemoryMb).toBe(1376);
    // gcp: the memory-backed /workspace beyond the 64 MB the overhead counts is charged to the container too.
    const gcp = refusal({ target: 'gcp', runnerMode: 'sidecar', runnerMemoryMb: '1536', workspaceSizeMb: '512' });
    expect(gcp.keys).toEqual(['code-execution:runnerMemoryMb']);
    expect(gcp.message).toContain('448 MB of memory-backed /workspace beyond 64 MB');
    expect(gcp.message).toContain('pulumi config set code-execution:runnerMemoryMb 1824');
    expect(parseStackConfig(from({ target: 'gcp', runnerMode: 'sidecar', runnerMemoryMb: '1568', workspaceSizeMb: '256' })).runnerMemoryMb).toBe(1568);
    // The kubernetes mode has no sidecar: each runner Job is sized from its own job.
    expect(parseStackConfig(from({ target: 'gcp', runnerMode: 'kubernetes', runnerMemoryMb: '512' })).runnerMemoryMb).toBe(512);
    // The defaults hold it on both targets.
    expect(() => parseStackConfig(from({ target: 'gcp', runnerMode: 'sidecar' }))).not.toThrow();
  });

  it('reads booleans and sizes', () => {
    const s = parseStackConfig(from({ target: 'aws', runnerMode: 'sidecar', multiAz: 'true', workerCpuMillis: '750', logRetentionDays: '14' }));
    expect(s).toMatchObject({ multiAz: true, workerCpuMillis: 750, logRetentionDays: 14 });
    expect(parseStackConfig(from({ multiAz: 'False' })).multiAz).toBe(false);
  });
});

describe('parseCloudLocation', () => {
  const refusal = (target: 'aws' | 'gcp', values: Record<string, string>): StackConfigError => {
    try {
      parseCloudLocation(target, (key) => values[key]);
    } catch (e) {
      expect(e).toBeInstanceOf(StackConfigError);
      return e as StackConfigError;
    }
    throw new Error(`accepted ${JSON.stringify(values)}`);
  };

  it('local needs nothing; aws needs aws:region; gcp needs gcp:project and gcp:region', () => {
    expect(parseCloudLocation('local', () => undefined)).toEqual({});
    expect(parseCloudLocation('aws', (k) => ({ 'aws:region': 'eu-west-1' })[k])).toEqual({ region: 'eu-west-1' });
    expect(parseCloudLocation('gcp', (k) => ({ 'gcp:project': 'my-proj-1', 'gcp:region': 'europe-west1' })[k])).toEqual({
      project: 'my-proj-1',
      region: 'europe-west1',
    });
  });

  it('names the missing or wrong provider key and the command that sets it', () => {
    const missing = refusal('aws', {});
    expect(missing.keys).toEqual(['aws:region']);
    expect(missing.message).toBe('aws:region is not set; target aws needs it. Set it with: pulumi config set aws:region us-east-1');
    expect(refusal('aws', { 'aws:region': 'Virginia' }).message).toMatch(/^aws:region must be an AWS region like us-east-1, got "Virginia"/);
    expect(refusal('gcp', { 'gcp:region': 'us-central1' }).keys).toEqual(['gcp:project']);
    expect(refusal('gcp', { 'gcp:project': 'My Project', 'gcp:region': 'us-central1' }).message).toMatch(/^gcp:project must be a GCP project id/);
    expect(refusal('gcp', { 'gcp:project': 'my-proj-1' }).keys).toEqual(['gcp:region']);
  });
});

describe('parseStackConfig: the API and Redis Cluster keys', () => {
  const parse = (values: Record<string, string>) => () => parseStackConfig((key) => values[key]);
  const aws = { target: 'aws', runnerMode: 'sidecar' };

  it('a public API on aws needs an ACM certificate ARN', () => {
    expect(parse({ ...aws, apiPublic: 'true' })).toThrow(/apiPublic true puts the API on the internet, which needs HTTPS: code-execution:apiCertificateArn is not set/);
    expect(parse({ ...aws, apiCertificateArn: 'my-cert' })).toThrow(/apiCertificateArn must be empty or an ACM certificate ARN/);
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    expect(parseStackConfig((k) => ({ ...aws, apiPublic: 'true', apiCertificateArn: arn })[k])).toMatchObject({ apiPublic: true, apiCertificateArn: arn });
  });

  it('tokens: at least 8 characters each, never quoted in the message; normalised to one comma-separated list', () => {
    let message = '';
    try {
      parseStackConfig((k) => ({ apiTokens: 'longenough-1, short7x' })[k as 'apiTokens']);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/apiTokens: every token must be at least 8 characters/);
    expect(message).not.toContain('short7x');
    expect(parseStackConfig((k) => ({ apiTokens: ' aaaaaaaa  bbbbbbbb,cccccccc ' })[k as 'apiTokens']).apiTokens).toBe('aaaaaaaa,bbbbbbbb,cccccccc');
  });

  it('API bounds in order; Redis Cluster replicas within what the cloud allows and a replica for multiAz', () => {
    expect(parse({ apiMinReplicas: '5', apiMaxReplicas: '4' })).toThrow(/apiMinReplicas \(5\) is greater than code-execution:apiMaxReplicas \(4\)/);
    const gcp = { target: 'gcp', runnerMode: 'sidecar', redisCluster: 'true' };
    expect(parse({ ...gcp, redisReplicasPerShard: '3' })).toThrow(/more than Memorystore for Redis Cluster allows \(2\)/);
    expect(parse({ ...aws, redisCluster: 'true', redisReplicasPerShard: '3' })).not.toThrow();
    expect(parse({ ...aws, redisCluster: 'true', redisReplicasPerShard: '0', multiAz: 'true' })).toThrow(/0 leaves no replica to fail over to/);
    expect(parseStackConfig((k) => ({ ...aws, redisCluster: 'true', redisReplicasPerShard: '0' })[k])).toMatchObject({ redisCluster: true, redisReplicasPerShard: 0, redisShards: 3 });
    expect(parse({ redisReplicasPerShard: '-1' })).toThrow(/redisReplicasPerShard must be a whole number >= 0/);
  });
});
