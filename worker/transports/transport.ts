// The one interface every runner transport implements. A transport only moves a job to its sandbox and what the
// sandbox reported back; the verdict is the judge's (core/judge.ts), in the worker or in the Node runner.
import type { InstalledLanguages } from '../../core/languageVersions.js';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import type { RunnerMode } from '../../core/runnerModes.js';

// Sandbox sizing is the transports' vocabulary; it lives in core/ with the limits (the sidecar sizes sandboxes too).
export { POOLED_SANDBOX_SIZE, sandboxBudget, type SandboxSize } from '../../core/protocol/limits.js';

export interface RunnerTransport {
  readonly mode: RunnerMode;
  /** Runs one job to an outcome. Throws TransportError when the infrastructure failed (retryable). */
  run(job: Job): Promise<RunOutcome>;
  /**
   * The languages its runner has, with their toolchains' versions (the host's, or the runner image's as measured
   * when it was built); null when the transport cannot tell (a Kubernetes Job's image is not inspectable from here).
   */
  languages(): Promise<InstalledLanguages | null>;
  /**
   * Why its runner does not offer a language it has a recipe for right now (its toolchain is being installed), or
   * undefined: the reason a job in that language is rejected with (absent: the runner has no such reasons).
   */
  languageRefusal?(language: string): string | undefined;
  /**
   * Why its runner cannot take a job now, or null when it can (absent: always can). A runner sidecar whose cleanup
   * failed says so: the worker then claims nothing until it can, instead of failing every delivery.
   */
  unavailable?(): string | null;
  /** Releases what the transport holds (connections, pools). Idempotent. */
  close(): Promise<void>;
  /**
   * Removes sandboxes (containers, cgroups) left by worker instances that died: those whose owner is not
   * this instance and not alive; and this instance's own that could not be removed when their job ended (the
   * engine was unreachable). Returns how many were removed.
   */
  reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number>;
}

/** How long a runner container's executor may take to start listening for its job. */
export const RUNNER_START_TIMEOUT_MS = 30_000;

