// The sidecar file protocol. The worker and the runner sidecar share one directory (SIDECAR_DIR) and nothing
// else: no socket, no port. Each job gets its own directory there; every file in it appears atomically
// (written under a temporary name, then renamed), so neither side ever reads half a file.
//
//   <dir>/<owner>@<random>/job.json      the worker's job (the directory is the worker's, mode 0700)
//   <dir>/<owner>@<random>/job.claimed   the sidecar renamed job.json: it is running the job
//   <dir>/<owner>@<random>/result.json   the sidecar's reply: {"outcome": RunOutcome} or {"error": "..."}
//   <dir>/.sidecar-heartbeat             rewritten by the sidecar every second while it runs
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { RunOutcome } from './result.js';

export const JOB_FILE = 'job.json';
export const CLAIM_FILE = 'job.claimed';
export const RESULT_FILE = 'result.json';
export const HEARTBEAT_FILE = '.sidecar-heartbeat';

export const HEARTBEAT_INTERVAL_MS = 1000;
/** A heartbeat older than this means no sidecar is serving the directory. */
export const HEARTBEAT_STALE_MS = 10_000;
/** How often each side looks for the other's files: a stat per tick, far below a job's own latency. */
export const POLL_INTERVAL_MS = 20;

/** A reply is an outcome, or an infrastructure failure the worker treats as retryable. */
export type SidecarReply = { outcome: RunOutcome } | { error: string };

/**
 * Writes under a fresh random name, created exclusively (so never through a link someone planted), then
 * renames over `path`.
 */
export function writeAtomically(path: string, data: string, mode: number): void {
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, data, { mode, flag: 'wx' });
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}
