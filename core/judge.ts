// The judge: what a job runs (a compile step under its own limits, then each case) and what came of it. Every
// transport uses it; a sandbox only runs the steps it is given and measures them, and never decides a verdict.
import { expandCommand, expandEnv, languageFor } from './languages.js';
import type { PhaseClock } from './phaseClock.js';
import { JobRejected, testCasesOf, type Job } from './protocol/job.js';
import { TransportError } from './errors.js';
import { COMPILE_MAX_PROCESSES, COMPILE_OUTPUT_BYTES, compileWallTimeMs, MAX_COMPILED_DEPTH, MAX_COMPILED_ENTRIES, MAX_FILE_BYTES } from './protocol/limits.js';
import type { SandboxedRun, SandboxLimits, WorkspaceState } from './protocol/launcherReport.js';
import type { CaseOutcome, RunOutcome } from './protocol/result.js';
import { jobBudgetMs } from './protocol/runnerOutput.js';
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
  /** The command's program is a file of the job's workspace (see decideVerdict). */
  ownProgram: boolean;
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
  /** What the sandbox says of the workspace after the step (absent: nothing to say). */
  workspace?: WorkspaceState;
}

/** A program path the job's workspace holds (the recipes run those as ./name). */
const inWorkspace = (program: string) => program.startsWith('./') || program.startsWith('/workspace/');

function limitsFor(job: Job, cpuMs: number, wallMs: number, nproc: number): SandboxLimits {
  return { cpuMs, wallMs, nproc, fsizeBytes: MAX_FILE_BYTES, stackBytes: job.memoryLimitMb * 1024 * 1024, nofile: 256 };
}

export function planJob(job: Job): JobPlan {
  // Its code is an object in S3 the worker fetches first (worker/codeSource.ts): never an empty program instead.
  if (job.codeKey !== undefined) {
    throw new JobRejected(`job ${job.id} still carries codeKey "${job.codeKey}"; the worker resolves codeKey from S3_BUCKET before a job reaches a sandbox`, job.id);
  }
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
      ownProgram: false,
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
    ownProgram: inWorkspace(run[0]),
  }));
  return { files, stdins: cases.map((c) => c.stdin), env: { ...JOB_ENV, ...expandEnv(recipe, ctx) }, steps };
}

/** Why a compile step failed, or null when it made the program. */
function compileFailure(job: Job, { run, workspace }: StepResult): string | null {
  const r = run.report;
  if (r.execError) return `compiler could not start: ${r.execError}`;
  // The sandbox could not make the compiled program read-only for the cases: the platform's fault, retried.
  if (workspace === 'lock_failed') throw new TransportError('the sandbox could not lock what the compile step made');
  if (workspace === 'too_many_entries') return `the compile step left more than ${MAX_COMPILED_ENTRIES} files and directories in the workspace`;
  if (workspace === 'too_deep') return `the compile step left directories nested deeper than ${MAX_COMPILED_DEPTH} levels in the workspace`;
  if (r.killedBy === 'wall' || r.signal === 'SIGXCPU' || r.cpuMs > job.compileTimeLimitMs) return `compilation exceeded its ${job.compileTimeLimitMs} ms limit`;
  if (r.killedBy || r.signal) return `compiler killed by ${r.signal ?? 'the output limit'}`;
  if (r.exitCode !== 0) return `compiler exited with code ${r.exitCode}`;
  return null;
}

function caseOutcome(job: Job, step: StepPlan, { run, measured, workspace }: StepResult, expectedOutput: string | undefined): CaseOutcome {
  // Fails closed: a case that would have seen what an earlier one left is not run, and the job cannot pass.
  const verdict = workspace === 'not_reset'
    ? { status: 'runtime_error' as const, message: `not run: ${run.report.execError}` }
    : decideVerdict(job, run, measured, expectedOutput, step.ownProgram);
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

/** A case the job's time budget (jobBudgetMs) has no room left for: not run, and the job has its verdict. */
function overBudget(budgetMs: number): CaseOutcome {
  return {
    ...SKIPPED,
    status: 'time_limit_exceeded',
    message: `not run: the job's time budget of ${budgetMs} ms (its compile step's and cases' wall limits, and 1 s per case between them) has no room for this case`,
  };
}

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
  // Each step is held to its wall limit by the sandbox, so whatever the job makes the sandbox do between cases, it
  // ends with a verdict within its budget, never at the transport's deadline.
  const started = performance.now();
  const budgetMs = jobBudgetMs(job);
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
    if (performance.now() - started + step.limits.wallMs > budgetMs) {
      outcomes.push(overBudget(budgetMs));
      continue;
    }
    outcomes.push(caseOutcome(job, step, await runStep(step, index), cases[step.stdinIndex!].expectedOutput));
  }
  clock.lap('runMs');
  return summarize(job, outcomes, compileOutput, compilations);
}
