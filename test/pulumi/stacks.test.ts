// The Pulumi program against each committed stack file, under mocks (no CLI, no engine, no providers),
// plus the config rules on their own. The stack files are the source of truth: each test reads the file
// and checks the program's exports against it, so editing a stack file cannot silently drift.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, parseStackConfig, StackConfigError } from '../../components/stackConfig.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STACKS = ['local', 'aws', 'gcp'] as const;

/**
 * Reads the flat `config:` map of a Pulumi.<stack>.yaml (`key: scalar` lines, keys like `aws:region`).
 * The `yaml` package is not installed and these files never nest, so a tiny reader is enough; it throws
 * on anything it does not understand rather than guess.
 */
function readStackConfig(stack: string): Record<string, string> {
  const text = readFileSync(`${ROOT}Pulumi.${stack}.yaml`, 'utf8');
  const out: Record<string, string> = {};
  let inConfig = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\s+#.*$/, '').trimEnd();
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (!line.startsWith(' ')) {
      inConfig = line === 'config:';
      continue;
    }
    if (!inConfig) continue;
    // Split at the first ": " so namespaced keys (aws:region) keep their colon.
    const m = /^\s+([^\s:][^\s]*?):\s+(.+)$/.exec(line);
    if (!m) throw new Error(`Pulumi.${stack}.yaml: cannot read ${JSON.stringify(rawLine)}`);
    out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

/** The `default:` of each project-namespaced key in Pulumi.yaml (two-space key, four-space attributes). */
function readProjectDefaults(): Record<string, string> {
  const out: Record<string, string> = {};
  let key: string | undefined;
  for (const line of readFileSync(`${ROOT}Pulumi.yaml`, 'utf8').split('\n')) {
    const k = /^ {2}code-execution:(\w+):\s*$/.exec(line);
    if (k) key = k[1];
    const d = /^ {4}default:\s*(\S+)\s*$/.exec(line);
    if (d && key) out[key] = d[1];
  }
  return out;
}

const mocks: pulumi.runtime.Mocks = {
  newResource: (args) => ({ id: `${args.name}_id`, state: args.inputs }),
  call: (args) => args.inputs,
};

async function runProgram(stack: string, config: Record<string, string>) {
  pulumi.runtime.setAllConfig(config);
  await pulumi.runtime.setMocks(mocks, 'code-execution', stack, false);
  vi.resetModules(); // a fresh index.ts per stack: its exports are computed once, at import time
  return import('../../index.js'); // vitest maps .js to index.ts; tsc (no allowImportingTsExtensions) needs .js
}

afterEach(() => pulumi.runtime.setAllConfig({}));

describe('stack files under Pulumi mocks', () => {
  for (const stack of STACKS) {
    it(`Pulumi.${stack}.yaml resolves to what the file says`, async () => {
      const file = readStackConfig(stack);
      const program = await runProgram(stack, file);
      const num = (key: string, fallback: number) => (file[`code-execution:${key}`] ? Number(file[`code-execution:${key}`]) : fallback);

      expect(pulumi.getStack()).toBe(stack);
      expect(program.target).toBe(file['code-execution:target']);
      expect(program.target).toBe(stack);
      expect(program.runnerMode).toBe(file['code-execution:runnerMode']);
      expect(program.workers).toEqual({ min: num('minWorkers', DEFAULTS.minWorkers), max: num('maxWorkers', DEFAULTS.maxWorkers) });
      expect(program.maxConcurrentJobs).toBe(num('maxConcurrentJobs', DEFAULTS.maxConcurrentJobs));
      expect(program.queueDepthTarget).toBe(num('queueDepthTarget', DEFAULTS.queueDepthTarget));
    });
  }

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
      'code-execution:runnerMode': 'sidecar',
      'code-execution:minWorkers': '2',
      'code-execution:maxWorkers': '50',
      'code-execution:queueDepthTarget': '10',
      'code-execution:maxConcurrentJobs': '4',
    });
    expect(readStackConfig('gcp')).toMatchObject({
      'gcp:project': 'code-execution-demo',
      'gcp:region': 'us-central1',
      'code-execution:runnerMode': 'sidecar',
      'code-execution:minWorkers': '2',
      'code-execution:maxWorkers': '50',
    });
  });

  it('an invalid stack fails the program at import, naming the key', async () => {
    await expect(runProgram('aws', { 'code-execution:target': 'aws', 'code-execution:runnerMode': 'docker' })).rejects.toThrow(
      /code-execution:runnerMode "docker" cannot work on target aws/,
    );
  });

  it('DEFAULTS in stackConfig.ts match the defaults declared in Pulumi.yaml', () => {
    const declared = readProjectDefaults();
    expect(Object.keys(declared).sort()).toEqual(Object.keys(DEFAULTS).sort());
    for (const [key, value] of Object.entries(DEFAULTS)) expect(declared[key], key).toBe(String(value));
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
    ['local', 'process'],
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
});
