// The one interface every runner transport implements. A transport only moves a job to the runner program
// and its JSON result back; it never decides a verdict.
import type { Job } from '../../core/protocol/job.js';
import { COMPILE_MAX_PROCESSES, DEFAULT_LIMITS, SANDBOX_OVERHEAD_MB, SANDBOX_OVERHEAD_TASKS } from '../../core/protocol/limits.js';
import type { PhaseClock } from '../../core/phaseClock.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import type { RunnerMode } from '../../core/runnerModes.js';

export interface RunnerTransport {
  readonly mode: RunnerMode;
  /** Runs one job to an outcome. Throws TransportError when the infrastructure failed (retryable). */
  run(job: Job): Promise<RunOutcome>;
  /** Releases what the transport holds (connections, pools). Idempotent. */
  close(): Promise<void>;
  /**
   * Removes sandboxes (containers, cgroups) left by worker instances that died: those whose owner is not
   * this instance and not alive; and this instance's own that could not be removed when their job ended (the
   * engine was unreachable). Returns how many were removed.
   */
  reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number>;
}

/** How long a warm pool's runner may take to start and say it is ready. */
export const RUNNER_START_TIMEOUT_MS = 30_000;

/** The limits a sandbox is sized by: a job's, or (for a warm pool) the most any job may ask for. */
export interface SandboxSize {
  memoryLimitMb: number;
  maxProcesses: number;
}

/** The size warm pools prepare sandboxes for: a job with the default limits, the size most jobs have. */
export const POOLED_SANDBOX_SIZE: SandboxSize = { memoryLimitMb: DEFAULT_LIMITS.memoryLimitMb, maxProcesses: DEFAULT_LIMITS.maxProcesses };

/** What the sandbox's cgroup enforces: the job's memory plus the sandbox's overhead (no swap), and its tasks. */
export function sandboxBudget(size: SandboxSize): { memoryBytes: number; pidsMax: number } {
  return {
    memoryBytes: (size.memoryLimitMb + SANDBOX_OVERHEAD_MB) * 1024 * 1024,
    pidsMax: Math.max(size.maxProcesses, COMPILE_MAX_PROCESSES) + SANDBOX_OVERHEAD_TASKS,
  };
}

/**
 * The runner's outcome with the transport's own phases (clock laps) added to the runner's, and for a transport
 * with a warm pool whether the job found a sandbox ready (`pooled`; undefined without a pool).
 */
export function withTransportPhases(outcome: RunOutcome, clock: PhaseClock, pooled?: boolean): RunOutcome {
  const poolHit = pooled === undefined ? {} : { poolHit: pooled ? (1 as const) : (0 as const) };
  return { ...outcome, phases: { ...clock.phases, ...outcome.phases, ...poolHit } };
}

/**
 * For transports that judge in the worker (process, docker): the clock's phases, with runner (the request handed
 * over until the outcome: workspace, compile, run) and, with a warm pool, poolHit.
 */
export function withJudgedPhases(outcome: RunOutcome, clock: PhaseClock, pooled?: boolean): RunOutcome {
  const p = clock.phases;
  const runnerMs = Math.round(((p.workspaceMs ?? 0) + (p.compileMs ?? 0) + (p.runMs ?? 0)) * 10) / 10;
  return { ...outcome, phases: { ...p, runnerMs, ...(pooled === undefined ? {} : { poolHit: pooled ? 1 : 0 }) } };
}
