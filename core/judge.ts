// The judge: what a job runs (a compile step under its own limits, then each case) and what came of it. Every
// transport uses it; a sandbox only runs the steps it is given and measures them, and never decides a verdict.
import { expandCommand, expandEnv, languageFor } from './languages.js';
import type { PhaseClock } from './phaseClock.js';
import { testCasesOf, type Job } from './protocol/job.js';
import { COMPILE_MAX_PROCESSES, COMPILE_OUTPUT_BYTES, compileWallTimeMs, MAX_FILE_BYTES } from './protocol/limits.js';
import type { SandboxedRun, SandboxLimits } from './protocol/launcherReport.js';
import type { CaseOutcome, RunOutcome } from './protocol/result.js';
import { decideVerdict, type SandboxMeasures } from './verdict.js';

/** What user code sees as its environment: nothing of the runner's or the worker's. */
export const JOB_ENV: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', TMPDIR: '/tmp', LANG: 'C.UTF-8' };

export interface StepPlan {
  kind: 'compile' | 'case';
  command: string[];
  limits: SandboxLimits;
  /** Bytes kept per stream; more kills the step. */
  outputCapBytes: number;
  /** Index into JobPlan.stdins; null reads /dev/null. */
  stdinIndex: number | null;
  /** stdout and stderr as one stream, in arrival order (compiler diagnostics). */
  mergeOutput: boolean;
}

export interface JobPlan {
  files: { name: string; content: string }[];
  stdins: string[];
  env: Record<string, string>;
  steps: StepPlan[];
}

/** A step as the sandbox ran it: its captured output and the kernel's figures. */
export interface StepResult {
  run: SandboxedRun;
  measured: SandboxMeasures;
}

function limitsFor(job: Job, cpuMs: number, wallMs: number, nproc: number): SandboxLimits {
  return { cpuMs, wallMs, nproc, fsizeBytes: MAX_FILE_BYTES, stackBytes: job.memoryLimitMb * 1024 * 1024, nofile: 256 };
}

export function planJob(job: Job): JobPlan {
  const recipe = languageFor(job.language)!;
  const files = job.files ?? [{ name: recipe.sourceFile, content: job.code ?? '' }];
  const sources = files.map((f) => f.name).filter((n) => recipe.extensions.some((ext) => n.endsWith(ext)));
  const ctx = { entry: files[0].name, sources: sources.length ? sources : [files[0].name], memoryMb: job.memoryLimitMb };
  const cases = testCasesOf(job);
  const steps: StepPlan[] = [];
  if (recipe.compile) {
    steps.push({
      kind: 'compile',
      command: expandCommand(recipe.compile, ctx),
      limits: limitsFor(job, job.compileTimeLimitMs, compileWallTimeMs(job.compileTimeLimitMs), COMPILE_MAX_PROCESSES),
      outputCapBytes: COMPILE_OUTPUT_BYTES,
      stdinIndex: null,
      mergeOutput: true,
    });
  }
  const run = [...expandCommand(recipe.run, ctx), ...job.args];
  cases.forEach((_, i) => steps.push({
    kind: 'case',
    command: run,
    limits: limitsFor(job, job.timeLimitMs, job.wallTimeLimitMs, job.maxProcesses),
    outputCapBytes: job.maxOutputBytes,
    stdinIndex: i,
    mergeOutput: false,
  }));
  return { files, stdins: cases.map((c) => c.stdin), env: { ...JOB_ENV, ...expandEnv(recipe, ctx) }, steps };
}

/** Why a compile step failed, or null when it made the program. */
function compileFailure(job: Job, { run }: StepResult): string | null {
  const r = run.report;
  if (r.execError) return `compiler could not start: ${r.execError}`;
  if (r.killedBy === 'wall' || r.signal === 'SIGXCPU' || r.cpuMs > job.compileTimeLimitMs) return `compilation exceeded its ${job.compileTimeLimitMs} ms limit`;
  if (r.killedBy || r.signal) return `compiler killed by ${r.signal ?? 'the output limit'}`;
  if (r.exitCode !== 0) return `compiler exited with code ${r.exitCode}`;
  return null;
}

function caseOutcome(job: Job, { run, measured }: StepResult, expectedOutput: string | undefined): CaseOutcome {
  const verdict = decideVerdict(job, run, measured, expectedOutput);
  return {
    status: verdict.status,
    stdout: run.stdout.toString('utf8'),
    stderr: run.stderr.toString('utf8'),
    exitCode: run.report.exitCode,
    signal: run.report.signal,
    timeMs: measured.cpuMs,
    wallTimeMs: run.report.wallMs,
    memoryKb: measured.memoryKb,
    stdoutTruncated: run.stdoutTruncated,
    stderrTruncated: run.stderrTruncated,
    message: verdict.message,
  };
}

const SKIPPED: CaseOutcome = {
  status: 'skipped', stdout: '', stderr: '', exitCode: null, signal: null, timeMs: 0, wallTimeMs: 0, memoryKb: 0,
  stdoutTruncated: false, stderrTruncated: false, message: 'not run: an earlier case failed and the job stops on the first failure',
};

/** The job's outcome from its cases: the first failure speaks for the job (see RunOutcome). */
function summarize(job: Job, cases: CaseOutcome[], compileOutput: string, compilations: number): RunOutcome {
  const ran = cases.filter((c) => c.status !== 'skipped');
  const decisive = ran.find((c) => c.status !== 'accepted') ?? ran[ran.length - 1];
  const { status, ...rest } = decisive;
  return {
    ...rest,
    status: status as RunOutcome['status'],
    timeMs: Math.max(...ran.map((c) => c.timeMs)),
    memoryKb: Math.max(...ran.map((c) => c.memoryKb)),
    wallTimeMs: ran.reduce((n, c) => n + c.wallTimeMs, 0),
    compileOutput,
    compilations,
    ...(job.testCases ? { testCases: cases } : {}),
  };
}

/**
 * Runs the plan's steps in order through `runStep` and decides the outcome: a failed compile ends the job, and
 * with stopOnFirstFailure so does the first failed case (the rest are skipped, never run).
 */
export async function judgeJob(job: Job, plan: JobPlan, runStep: (step: StepPlan, index: number) => Promise<StepResult>, clock: PhaseClock): Promise<RunOutcome> {
  const cases = testCasesOf(job);
  let compileOutput = '';
  let compilations = 0;
  const outcomes: CaseOutcome[] = [];
  for (const [index, step] of plan.steps.entries()) {
    if (step.kind === 'compile') {
      compilations++;
      const result = await runStep(step, index);
      clock.lap('compileMs');
      compileOutput = result.run.stdout.toString('utf8');
      const failure = compileFailure(job, result);
      if (failure) {
        const r = result.run.report;
        return {
          status: r.execError ? 'internal_error' : 'compile_error',
          stdout: '', stderr: '', compileOutput, compilations,
          exitCode: r.exitCode, signal: r.signal, timeMs: r.cpuMs, wallTimeMs: r.wallMs, memoryKb: r.maxRssKb,
          stdoutTruncated: false, stderrTruncated: false, message: failure,
        };
      }
      continue;
    }
    const failedBefore = outcomes.some((c) => c.status !== 'accepted');
    if (job.stopOnFirstFailure && failedBefore) {
      outcomes.push(SKIPPED);
      continue;
    }
    outcomes.push(caseOutcome(job, await runStep(step, index), cases[step.stdinIndex!].expectedOutput));
  }
  clock.lap('runMs');
  return summarize(job, outcomes, compileOutput, compilations);
}
