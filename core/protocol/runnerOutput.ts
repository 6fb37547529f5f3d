// The runner program's output, as every transport (and the sidecar) reads it, and how long and how big it may
// be. Its stdout carries one JSON line and nothing else (user output travels inside the JSON), so anything
// unexpected means the runner did not finish: a TransportError. Its stderr is its log, kept short for errors.
import { TransportError } from '../errors.js';
import { testCasesOf, type Job } from './job.js';
import { COMPILE_OUTPUT_BYTES, compileWallTimeMs } from './limits.js';
import { STATUSES, type RunOutcome } from './result.js';

/**
 * What one job may take in its sandbox: the compile step's and every case's wall limit, and a second per case for the
 * sandbox's reset between cases. The judge runs no case that would pass it (the job gets a verdict for that).
 */
export function jobBudgetMs(job: Job): number {
  return compileWallTimeMs(job.compileTimeLimitMs) + testCasesOf(job).length * (job.wallTimeLimitMs + 1000);
}

/** Upper bound on one job end to end (the transports' deadline): its budget plus start-up and teardown. */
export function jobDeadlineMs(job: Job): number {
  return jobBudgetMs(job) + 15_000;
}

/**
 * Bytes of runner stdout a transport accepts: both capped streams of every case (with `testCases`, the top
 * level repeats the decisive case's), the compiler's output, each at most 6 bytes per byte once JSON-escaped
 * (a control byte becomes \u00XX), plus room for the other fields. A result a runner can legitimately print
 * must fit, or a job whose output is all control bytes fails on every delivery.
 */
export function runnerOutputCapBytes(job: Job): number {
  const streams = (testCasesOf(job).length + (job.testCases ? 1 : 0)) * 2;
  return (streams * job.maxOutputBytes + COMPILE_OUTPUT_BYTES) * 6 + 512 * 1024;
}

export function parseRunnerOutput(stdout: string, context: string): RunOutcome {
  const line = stdout.trim().split('\n').pop() ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new TransportError(`runner produced no result (${context}): ${line.slice(0, 200) || 'empty output'}`);
  }
  const o = value as Partial<RunOutcome>;
  if (typeof o !== 'object' || o === null || !STATUSES.includes(o.status as never) || typeof o.stdout !== 'string') {
    throw new TransportError(`runner result has an unexpected shape (${context})`);
  }
  return o as RunOutcome;
}

export interface RunnerOutputCollector {
  /**
   * Resolves once the runner's result line is complete (stdout ends a line). The runner prints nothing after
   * it, so the result can be read then, without waiting for the sandbox to exit.
   */
  complete: Promise<void>;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** The outcome, or a TransportError naming `context` and the runner's log. */
  parse(context: string): RunOutcome;
}

/** Keeps at most `capBytes` of stdout; past that `onOverflow` is called (once) and parse() fails. */
export function collectRunnerOutput(capBytes: number, onOverflow: () => void): RunnerOutputCollector {
  const out: Buffer[] = [];
  let outBytes = 0;
  let log = '';
  let overflowed = false;
  let lineEnded!: () => void;
  const complete = new Promise<void>((resolve) => {
    lineEnded = resolve;
  });
  return {
    complete,
    onStdout(chunk) {
      outBytes += chunk.length;
      if (outBytes <= capBytes) {
        out.push(chunk);
        if (chunk.includes(0x0a)) lineEnded();
      } else if (!overflowed) {
        overflowed = true;
        onOverflow();
      }
    },
    onStderr(chunk) {
      if (log.length < 8192) log += chunk.toString('utf8');
    },
    parse(context) {
      if (overflowed) throw new TransportError(`runner output over its cap of ${capBytes} bytes (${context})`);
      return parseRunnerOutput(Buffer.concat(out).toString('utf8'), `${context}: ${log.trim().slice(0, 300)}`);
    },
  };
}
