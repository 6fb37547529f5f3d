// The runner program (dist/runner.js): reads one job as JSON on stdin (or from --job-file, where a transport
// mounts it: kubernetes), executes it in the workspace and prints exactly one JSON result line on stdout.
// Every transport runs this same program.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { executeJob } from './executeJob.js';
import { JobRejected, normalizeJob } from '../core/protocol/job.js';
import { outcomeWithoutRun, type RunOutcome } from '../core/protocol/result.js';
import { EXIT_OUTSIDE_JOB_CONTAINER, outsideJobContainer } from './jobContainer.js';
import { closePtyPool, PtyPoolOpen } from './ptyPool.js';

function log(level: string, msg: string, extra: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ level, msg, component: 'runner', ...extra })}\n`);
}

const { values } = parseArgs({
  options: {
    workspace: { type: 'string', default: '/workspace' },
    'job-file': { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write('usage: runner.js [--workspace DIR] [--job-file FILE | < job.json]   (prints one JSON result)\n');
  process.stdout.write(`Runs only in a job container (read-only root); anywhere else it refuses, with exit status ${EXIT_OUTSIDE_JOB_CONTAINER}.\n`);
  process.exit(0);
}
// Before anything touches the filesystem: the runner empties /tmp and /dev/shm before every case and closes the
// pty pool, which on a host would delete other programs' files and break its terminals.
const outside = outsideJobContainer();
if (outside) {
  const message = `the runner refuses to run here: ${outside}. It empties /tmp and /dev/shm between a job's commands, so it runs only in its container: start jobs through a code-exec transport (the runner image, a sidecar, a Kubernetes runner pod)`;
  log('error', 'runner refused to start outside a job container', { reason: outside });
  process.stdout.write(`${JSON.stringify(outcomeWithoutRun('internal_error', message))}\n`);
  process.exit(EXIT_OUTSIDE_JOB_CONTAINER);
}

async function outcome(): Promise<RunOutcome> {
  const launcher = process.env.SANDBOX_EXEC ?? join(dirname(fileURLToPath(import.meta.url)), 'sandbox-exec');
  let job;
  try {
    job = normalizeJob(JSON.parse(readFileSync(values['job-file'] ?? 0, 'utf8')));
  } catch (err) {
    if (err instanceof JobRejected) return outcomeWithoutRun('rejected', err.message);
    return outcomeWithoutRun('rejected', `job is not valid JSON: ${(err as Error).message}`);
  }
  if (job.codeKey !== undefined) {
    // The runner has no network and no credentials: fetching code from S3 is the worker's job.
    return outcomeWithoutRun('rejected', `the runner got a job with codeKey "${job.codeKey}"; the worker resolves codeKey into code before a job reaches the runner`);
  }
  if (process.getuid?.() !== 0) {
    return outcomeWithoutRun(
      'internal_error',
      'the runner must start as uid 0 with CAP_SETUID and CAP_SETGID to drop user code to its own uid; start it through a code-exec transport',
    );
  }
  if (!existsSync(launcher)) return outcomeWithoutRun('internal_error', `sandbox launcher missing at ${launcher}; run npm run build`);
  try {
    const closed = closePtyPool();
    if (closed.length) log('info', 'closed the pty devices of the sandbox to job code', { nodes: closed });
  } catch (err) {
    if (err instanceof PtyPoolOpen) return outcomeWithoutRun('internal_error', err.message);
    throw err;
  }
  return executeJob(job, { workspace: values.workspace!, launcher });
}

try {
  const result = await outcome();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  log('error', 'runner failed', { error: (err as Error).stack });
  process.stdout.write(`${JSON.stringify(outcomeWithoutRun('internal_error', `runner failed: ${(err as Error).message}`))}\n`);
}
