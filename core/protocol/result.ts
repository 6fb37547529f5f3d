// Job protocol v1.1: the result every job ends with, as stored at `code-execution:{<id>}:result`.
import type { RunnerMode } from '../runnerModes.js';

export const STATUSES = [
  'accepted',
  'wrong_answer',
  'compile_error',
  'runtime_error',
  'time_limit_exceeded',
  'memory_limit_exceeded',
  'output_limit_exceeded',
  'internal_error',
  'rejected',
] as const;
export type Status = (typeof STATUSES)[number];

/** One run of the program on one input. */
export interface CaseOutcome {
  /** `skipped`: not run, because an earlier case failed and the job asked to stop on the first failure. */
  status: Status | 'skipped';
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
  timeMs: number;
  wallTimeMs: number;
  memoryKb: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  message: string | null;
}

/**
 * What the runner measures and decides; it prints exactly one of these as JSON. For a job with
 * `testCases` the top level is the first failing case (or the last one when all pass), except timeMs and
 * memoryKb (the most any case used) and wallTimeMs (all cases together); `testCases` lists every case.
 */
export interface RunOutcome {
  status: Status;
  stdout: string;
  stderr: string;
  compileOutput: string;
  exitCode: number | null;
  signal: string | null;
  timeMs: number;
  wallTimeMs: number;
  memoryKb: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  message: string | null;
  /** Times the compiler ran for this job (0 for interpreted languages and jobs that never started). */
  compilations?: number;
  testCases?: CaseOutcome[];
  /** Where the time went; the worker logs it with the job and leaves it out of the stored result. */
  phases?: Phases;
}

/**
 * Milliseconds per phase of one job. Where it is judged (the worker for the process and docker transports, the
 * Node runner elsewhere) come workspace (the request handed over, or sources and inputs written), compile and run
 * (every case run and measured); the transport adds sandbox (a pooled sandbox taken and fitted to the job, or
 * one set up for it) and runner (from the job handed over to its outcome: the judged phases, and for the Node
 * runner its start and the way in and out); the worker adds store and ack (and, in its log, the claim).
 */
export interface Phases {
  sandboxMs?: number;
  runnerMs?: number;
  workspaceMs?: number;
  compileMs?: number;
  runMs?: number;
  storeMs?: number;
  ackMs?: number;
  /** With a warm pool: 1 when the job found a sandbox ready, 0 when it had to set one up (a pool hit or miss). */
  poolHit?: 0 | 1;
}

/** The stored result: the runner's outcome plus where, when and how often it ran. */
export interface JobResult extends RunOutcome {
  id: string;
  language: string;
  /** The toolchain's version in the runner that ran the job, when its transport can tell (not Kubernetes'). */
  languageVersion?: string;
  runnerMode: RunnerMode | null;
  worker: string;
  attempts: number;
  startedAt: string;
  finishedAt: string;
  /**
   * Present (true) when output texts were shortened to keep the stored result within MAX_RESULT_BYTES (JSON
   * escaping can multiply output sixfold). The verdict was decided on the whole output.
   */
  resultTrimmed?: boolean;
}

/** An outcome for a job that never reached a sandbox (rejected input, infrastructure failure). */
export function outcomeWithoutRun(status: Status, message: string): RunOutcome {
  return {
    status,
    stdout: '',
    stderr: '',
    compileOutput: '',
    exitCode: null,
    signal: null,
    timeMs: 0,
    wallTimeMs: 0,
    memoryKb: 0,
    stdoutTruncated: false,
    stderrTruncated: false,
    message,
  };
}
