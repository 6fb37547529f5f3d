// Stack config for the code-execution Pulumi project, validated before any resource exists.
// Pure (no Pulumi import) so the rules can be unit-tested without the engine or mocks, and so a bad
// combination fails at the start of `pulumi preview` with the exact `pulumi config set` that fixes it,
// rather than halfway through a deployment.

export const PROJECT = 'code-execution';

export const TARGETS = ['local', 'aws', 'gcp'] as const;
export type Target = (typeof TARGETS)[number];

export const RUNNER_MODES = ['docker', 'process', 'sidecar', 'kubernetes'] as const;
export type RunnerMode = (typeof RUNNER_MODES)[number];

export interface StackConfig {
  target: Target;
  runnerMode: RunnerMode;
  maxConcurrentJobs: number;
  minWorkers: number;
  maxWorkers: number;
  queueDepthTarget: number;
}

/**
 * Mirrors the `default:` values in Pulumi.yaml. The CLI fills those in for a real run, but unit tests
 * (mocks) and programs run without the project file do not, so the program applies them itself.
 * test/pulumi/stacks.test.ts checks the two stay equal.
 */
export const DEFAULTS: StackConfig = {
  target: 'local',
  runnerMode: 'docker',
  maxConcurrentJobs: 2,
  minWorkers: 1,
  maxWorkers: 1,
  queueDepthTarget: 10,
};

/** Which runner modes each target can actually host; the first entry is the one to suggest. */
const ALLOWED_MODES: Record<Target, readonly RunnerMode[]> = {
  local: ['docker', 'process'],
  aws: ['sidecar'],
  gcp: ['sidecar', 'kubernetes'],
};

/** Why a mode is refused on a target, so the error explains itself instead of just listing values. */
const REFUSAL_REASONS: Partial<Record<Target, Partial<Record<RunnerMode, string>>>> = {
  local: {
    sidecar: 'the sidecar runner is wired up by the cloud task definitions',
    kubernetes: 'the local target has no Kubernetes cluster',
  },
  aws: {
    docker: 'Fargate has no Docker socket',
    process: 'Fargate tasks cannot create the namespaces and cgroups the process sandbox needs',
    kubernetes: 'the aws target runs on ECS Fargate, not Kubernetes',
  },
  gcp: {
    docker: 'Cloud Run and GKE nodes expose no Docker socket',
    process: 'managed GCP runtimes cannot create the namespaces and cgroups the process sandbox needs',
  },
};

/** A config problem; `keys` are the fully qualified keys to change, and the message names them too. */
export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
  constructor(
    readonly keys: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

const fullKey = (key: string): string => `${PROJECT}:${key}`;
const setCommand = (key: string, value: string | number): string => `pulumi config set ${fullKey(key)} ${value}`;

function isOneOf<T extends string>(values: readonly T[], v: string): v is T {
  return (values as readonly string[]).includes(v);
}

function parsePositiveInt(get: (key: string) => string | undefined, key: keyof StackConfig): number {
  const raw = get(key);
  if (raw === undefined) return DEFAULTS[key] as number;
  // Digits only: Number('') is 0, Number('1e3') is 1000 and parseInt('2x') is 2, none of which is what was meant.
  const trimmed = raw.trim();
  const n = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new StackConfigError(
      [fullKey(key)],
      `${fullKey(key)} must be a whole number >= 1, got ${JSON.stringify(raw)}; set it with: ${setCommand(key, DEFAULTS[key])}`,
    );
  }
  return n;
}

/**
 * Reads and validates the stack config. `get` takes the key without the project prefix (as
 * `new pulumi.Config('code-execution').get` does) and returns undefined when the key is unset.
 * Throws StackConfigError on the first problem found.
 */
export function parseStackConfig(get: (key: string) => string | undefined): StackConfig {
  const target = get('target') ?? DEFAULTS.target;
  if (!isOneOf(TARGETS, target)) {
    throw new StackConfigError(
      [fullKey('target')],
      `${fullKey('target')} ${JSON.stringify(target)} is not a target; use one of ${TARGETS.join(', ')}. ` +
        `Set it with: ${setCommand('target', DEFAULTS.target)}`,
    );
  }

  const allowed = ALLOWED_MODES[target];
  // Same default as Pulumi.yaml (docker), so an aws/gcp stack that omits runnerMode is refused here exactly as
  // it would be under the CLI, which fills the project default in before the program runs.
  const runnerMode = get('runnerMode') ?? DEFAULTS.runnerMode;
  if (!isOneOf(RUNNER_MODES, runnerMode)) {
    throw new StackConfigError(
      [fullKey('runnerMode')],
      `${fullKey('runnerMode')} ${JSON.stringify(runnerMode)} is not a runner mode; on target ${target} use ` +
        `${allowed.join(' or ')}. Set it with: ${setCommand('runnerMode', allowed[0])}`,
    );
  }
  if (!allowed.includes(runnerMode)) {
    const reason = REFUSAL_REASONS[target]?.[runnerMode] ?? `target ${target} supports only ${allowed.join(', ')}`;
    throw new StackConfigError(
      [fullKey('runnerMode')],
      `${fullKey('runnerMode')} ${JSON.stringify(runnerMode)} cannot work on target ${target} (${reason}); ` +
        `set it with: ${setCommand('runnerMode', allowed[0])}`,
    );
  }

  const maxConcurrentJobs = parsePositiveInt(get, 'maxConcurrentJobs');
  const minWorkers = parsePositiveInt(get, 'minWorkers');
  const maxWorkers = parsePositiveInt(get, 'maxWorkers');
  const queueDepthTarget = parsePositiveInt(get, 'queueDepthTarget');

  // An autoscaler given min > max either errors at deploy time or silently clamps; refuse it here instead.
  if (minWorkers > maxWorkers) {
    throw new StackConfigError(
      [fullKey('minWorkers'), fullKey('maxWorkers')],
      `${fullKey('minWorkers')} (${minWorkers}) is greater than ${fullKey('maxWorkers')} (${maxWorkers}); ` +
        `lower one or raise the other, e.g.: ${setCommand('maxWorkers', minWorkers)}`,
    );
  }

  return { target, runnerMode, maxConcurrentJobs, minWorkers, maxWorkers, queueDepthTarget };
}
