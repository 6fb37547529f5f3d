// How big the runner sidecar's container must be, and how many jobs a worker takes at once, per runner mode. Pure
// (no Pulumi import): the stack config, the components and the unit tests apply the same rule.
//
// The sidecar runs ONE job at a time and the container's memory cgroup is that job's sandbox
// (runner/sandbox/executor.c, --serve). So the container must hold the largest job the worker accepts, with the
// sandbox's own overhead, plus the executor and the output it holds; below that a job within its limit can get the
// whole container OOM-killed, the sidecar with it.
import { DEFAULT_CAPS, SANDBOX_OVERHEAD_MB, WORKSPACE_SIZE_MB } from '../core/protocol/limits.js';
import type { RunnerMode } from '../core/runnerModes.js';

/** The sidecar's executor beside the sandbox: a step's stdout and stderr, held up to their caps until reported. */
export const SIDECAR_PROCESS_MB = 128;

export interface RunnerSidecarMemoryInput {
  /**
   * Size in MB of the sidecar's /workspace when it is memory-backed (a Kubernetes `medium: Memory` emptyDir), 0
   * when it is on disk (Fargate has no tmpfs). Its pages are charged to the container like the job's own memory.
   */
  memoryBackedWorkspaceMb: number;
  /** The largest memoryLimitMb the worker accepts (MAX_MEMORY_LIMIT_MB). Defaults to the worker's default, 1024. */
  maxJobMemoryMb?: number;
}

export interface RunnerSidecarMemory {
  /** The smallest container memory limit, in MB. */
  minimumMb: number;
  /** The sum, in words, for error messages. */
  explanation: string;
}

/**
 * The runner sidecar container's smallest memory limit: the largest job memory limit + SANDBOX_OVERHEAD_MB (which
 * counts a full 64 MB /workspace and /tmp and the runner) + whatever a larger memory-backed /workspace adds beyond
 * those 64 MB + SIDECAR_PROCESS_MB.
 */
export function runnerSidecarMemory(input: RunnerSidecarMemoryInput): RunnerSidecarMemory {
  const job = input.maxJobMemoryMb ?? DEFAULT_CAPS.maxMemoryLimitMb;
  const extraWorkspace = Math.max(0, input.memoryBackedWorkspaceMb - WORKSPACE_SIZE_MB);
  const minimumMb = job + SANDBOX_OVERHEAD_MB + extraWorkspace + SIDECAR_PROCESS_MB;
  const parts = [
    `the largest job memory limit (${job} MB, MAX_MEMORY_LIMIT_MB)`,
    `${SANDBOX_OVERHEAD_MB} MB sandbox overhead`,
    ...(extraWorkspace ? [`${extraWorkspace} MB of memory-backed /workspace beyond ${WORKSPACE_SIZE_MB} MB`] : []),
    `${SIDECAR_PROCESS_MB} MB for the sidecar's executor and the output it holds`,
  ];
  return { minimumMb, explanation: `${parts.join(' + ')} = ${minimumMb} MB` };
}

/**
 * MAX_CONCURRENT_JOBS when none is configured. The sidecar runs one job at a time, so a sidecar-mode worker takes
 * one: more would only wait in its /shared while other workers sit idle. Other modes start a sandbox per job.
 */
export function defaultMaxConcurrentJobs(runnerMode: RunnerMode): number {
  return runnerMode === 'sidecar' ? 1 : 2;
}
