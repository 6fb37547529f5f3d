// The one interface every runner transport implements. A transport only moves a job to the runner program
// and its JSON result back; it never decides a verdict.
import type { Job } from '../../core/protocol/job.js';
import type { PhaseClock } from '../../core/phaseClock.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import type { RunnerMode } from '../../core/runnerModes.js';

// Sandbox sizing is the transports' vocabulary; it lives in core/ with the limits (the sidecar sizes sandboxes too).
export { POOLED_SANDBOX_SIZE, sandboxBudget, type SandboxSize } from '../../core/protocol/limits.js';

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

/**
 * The runner's outcome with the transport's own phases (clock laps) added to the runner's, and for a transport
 * with a warm pool whether the job found a sandbox ready (`pooled`; undefined without a pool).
 */
export function withTransportPhases(outcome: RunOutcome, clock: PhaseClock, pooled?: boolean): RunOutcome {
  const poolHit = pooled === undefined ? {} : { poolHit: pooled ? (1 as const) : (0 as const) };
  return { ...outcome, phases: { ...clock.phases, ...outcome.phases, ...poolHit } };
}

