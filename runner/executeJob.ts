// The lifecycle of one job inside a sandbox: prepare the workspace, compile under its own limits, run under
// the job's limits, decide the verdict, clean up in `finally`.
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandCommand, languageFor } from '../core/languages.js';
import { phaseClock, type PhaseClock } from '../core/phaseClock.js';
import { readCgroupCpuMs, readOomKills } from './cgroupCounters.js';
import { sampleMemory } from './memorySampler.js';
import { normalizeJob, testCasesOf, type Job, type TestCase } from '../core/protocol/job.js';
import { COMPILE_MAX_PROCESSES, COMPILE_OUTPUT_BYTES, compileWallTimeMs, JOB_UID_MIN, MAX_FILE_BYTES } from '../core/protocol/limits.js';
import type { CaseOutcome, RunOutcome } from '../core/protocol/result.js';
import type { LauncherReport, SandboxedRun } from '../core/protocol/launcherReport.js';
import { runSandboxed, type SandboxLimits } from './sandboxedCommand.js';
import { decideVerdict, type SandboxMeasures } from '../core/verdict.js';

export interface ExecuteOptions {
  workspace: string;
  launcher: string;
}

/** What user code sees as its environment: nothing of the runner's or the worker's. */
const JOB_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', TMPDIR: '/tmp', LANG: 'C.UTF-8' };

/**
 * Where job code may write besides the workspace (/dev/shm exists only where the platform gives the sidecar's
 * container one). What one command of a job leaves in them is gone before the next runs.
 */
const JOB_SCRATCH = [JOB_ENV.TMPDIR, '/dev/shm'];

/** A uid no other job is likely to hold, so per-uid limits (RLIMIT_NPROC) and kill(-1) stay per job. */
function sandboxUid(): number {
  return randomInt(JOB_UID_MIN, 1_000_000_000);
}

function limitsFor(job: Job, cpuMs: number, wallMs: number, nproc: number): SandboxLimits {
  return {
    cpuMs,
    wallMs,
    nproc,
    fsizeBytes: MAX_FILE_BYTES,
    stackBytes: job.memoryLimitMb * 1024 * 1024,
    nofile: 256,
  };
}

function writeSources(job: Job, workspace: string): { entry: string; sources: string[] } {
  const recipe = languageFor(job.language)!;
  const files = job.files ?? [{ name: recipe.sourceFile, content: job.code ?? '' }];
  for (const f of files) writeFileSync(join(workspace, f.name), f.content, { mode: 0o644, flag: 'wx' });
  const sources = files.map((f) => f.name).filter((n) => recipe.extensions.some((ext) => n.endsWith(ext)));
  return { entry: files[0].name, sources: sources.length ? sources : [files[0].name] };
}

interface Before {
  oom: number | null;
  cgroupCpuMs: number | null;
  runner: NodeJS.CpuUsage;
}

/**
 * The job's CPU is the larger of rusage (its reaped processes) and the sandbox cgroup's growth less what
 * the runner and the launcher used meanwhile: the cgroup also sees children the job had auto-reaped
 * (SIGCHLD ignored), which rusage never does. Its memory is likewise the larger of the biggest process's
 * peak RSS and the cgroup's sampled growth (several processes, tmpfs).
 */
function measureAround(before: Before, report: LauncherReport, sampledKb: number): SandboxMeasures {
  const oomAfter = readOomKills();
  const cgroupAfter = readCgroupCpuMs();
  const runner = process.cpuUsage(before.runner);
  const fromCgroup = before.cgroupCpuMs !== null && cgroupAfter !== null
    ? cgroupAfter - before.cgroupCpuMs - (runner.user + runner.system) / 1000 - report.selfCpuMs
    : 0;
  return {
    oomKilled: before.oom !== null && oomAfter !== null && oomAfter > before.oom,
    cpuMs: Math.max(report.cpuMs, Math.round(fromCgroup)),
    memoryKb: Math.max(report.maxRssKb, sampledKb),
  };
}

interface RunContext {
  common: { launcher: string; cwd: string; env: Record<string, string> };
  command: string[];
  /** Each case's stdin, written before any job code ran. */
  stdinPaths: string[];
  /** The runner's own directory in /tmp (the stdin files): the one entry there a case may see. */
  privateDir: string;
  /** Entries of the workspace as the compile step left it. */
  compiled: Set<string>;
}

/**
 * Makes /tmp (and /dev/shm) empty but for the runner's own directory, and the workspace what the compile step
 * left, before a case runs. The launcher already removed what earlier commands' uids owned (--wipe, as that
 * uid: it can undo whatever modes a job set); what is left can only be entries of other owners in these
 * sticky directories (hard links), which their owner, root, removes here. rmSync does not follow links.
 * Anything that stays is a failure of the runner, not a file the next case gets to see.
 */
function freshScratch(ctx: RunContext, workspace: string): void {
  const strays = () => [
    ...JOB_SCRATCH.filter((dir) => existsSync(dir)).flatMap((dir) => readdirSync(dir).map((name) => join(dir, name))).filter((path) => path !== ctx.privateDir),
    ...readdirSync(workspace).filter((name) => !ctx.compiled.has(name)).map((name) => join(workspace, name)),
  ];
  for (const path of strays()) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Reported below.
    }
  }
  const left = strays();
  if (left.length) throw new Error(`cannot remove what an earlier command of the job left: ${left.slice(0, 5).join(', ')}`);
}

/** Runs the built program on one input and judges it. */
async function runCase(job: Job, ctx: RunContext, testCase: TestCase, index: number): Promise<CaseOutcome> {
  const stdinPath = ctx.stdinPaths[index];
  freshScratch(ctx, ctx.common.cwd);
  const before = { oom: readOomKills(), cgroupCpuMs: readCgroupCpuMs(), runner: process.cpuUsage() };
  const sampler = sampleMemory();
  let run: SandboxedRun;
  let sampledKb: number;
  try {
    run = await runSandboxed({
      ...ctx.common,
      uid: sandboxUid(),
      command: ctx.command,
      stdinPath,
      limits: limitsFor(job, job.timeLimitMs, job.wallTimeLimitMs, job.maxProcesses),
      outputCapBytes: job.maxOutputBytes,
      wipe: [...JOB_SCRATCH, ctx.common.cwd],
    });
  } finally {
    // Always stopped: a live sampling timer would keep the runner from exiting.
    sampledKb = sampler.stop();
  }
  const measured = measureAround(before, run.report, sampledKb);
  const verdict = decideVerdict(job, run, measured, testCase.expectedOutput);
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
 * For a runner started ahead of its job (a warm pool): takes the paths a job takes once, validating a job and
 * running a command through the launcher, so that compiling them on first use in this fresh process is
 * not paid by the job.
 */
export async function warmUp(opts: ExecuteOptions): Promise<void> {
  normalizeJob({ id: 'warm-up', language: 'python', code: 'pass', stdin: '', testCases: [{ stdin: '', expectedOutput: '' }] });
  sampleMemory().stop();
  const { report } = await runSandboxed({
    launcher: opts.launcher, cwd: '/', env: JOB_ENV, uid: sandboxUid(), command: ['true'], stdinPath: null,
    limits: { cpuMs: 1000, wallMs: 5000, nproc: 4, fsizeBytes: 0, stackBytes: 8 << 20, nofile: 64 }, outputCapBytes: 1024,
  });
  if (report.exitCode !== 0) throw new Error(`the launcher's warm-up run failed: ${JSON.stringify(report)}`);
}

export async function executeJob(job: Job, opts: ExecuteOptions): Promise<RunOutcome> {
  const clock = phaseClock();
  const outcome = await judge(job, opts, clock);
  return { ...outcome, phases: clock.phases };
}

async function judge(job: Job, opts: ExecuteOptions, clock: PhaseClock): Promise<RunOutcome> {
  const recipe = languageFor(job.language)!;
  // Runner-private files (stdin) live outside the workspace in a directory only root can enter.
  const privateDir = mkdtempSync(join(tmpdir(), 'runner-'));
  try {
    const { entry, sources } = writeSources(job, opts.workspace);
    // Every case's stdin now, while the /tmp it shares with the job is empty: a program that fills /tmp (it may,
    // within its size and inode caps) must not leave the runner unable to write the next case's input.
    const stdinPaths = testCasesOf(job).map((testCase, i) => {
      const path = join(privateDir, `stdin-${i}`);
      writeFileSync(path, testCase.stdin, { mode: 0o600 });
      return path;
    });
    const ctx = { entry, sources, memoryMb: job.memoryLimitMb };
    // Compiler and program get different uids: in the sticky workspace the program can then neither
    // change nor delete what the compiler made (and so cannot shrink the memory baseline it is measured on).
    const common = { launcher: opts.launcher, cwd: opts.workspace, env: JOB_ENV };
    clock.lap('workspaceMs');

    let compileOutput = '';
    let compilations = 0;
    if (recipe.compile) {
      compilations++;
      const compile = await runSandboxed({
        ...common,
        uid: sandboxUid(),
        command: expandCommand(recipe.compile, ctx),
        stdinPath: null,
        limits: limitsFor(job, job.compileTimeLimitMs, compileWallTimeMs(job.compileTimeLimitMs), COMPILE_MAX_PROCESSES),
        outputCapBytes: COMPILE_OUTPUT_BYTES,
        // The compiler's temporary files go; what it made in the workspace is the program.
        wipe: JOB_SCRATCH,
      });
      clock.lap('compileMs');
      compileOutput = compile.interleaved.toString('utf8');
      const r = compile.report;
      const failed = r.execError || r.killedBy || r.signal || r.exitCode !== 0 || r.cpuMs > job.compileTimeLimitMs;
      if (failed) {
        const why = r.execError
          ? `compiler could not start: ${r.execError}`
          : r.killedBy === 'wall' || r.signal === 'SIGXCPU' || r.cpuMs > job.compileTimeLimitMs
            ? `compilation exceeded its ${job.compileTimeLimitMs} ms limit`
            : r.signal
              ? `compiler killed by ${r.signal}`
              : `compiler exited with code ${r.exitCode}`;
        return {
          status: r.execError ? 'internal_error' : 'compile_error',
          stdout: '',
          stderr: '',
          compileOutput,
          compilations,
          exitCode: r.exitCode,
          signal: r.signal,
          timeMs: r.cpuMs,
          wallTimeMs: r.wallMs,
          memoryKb: r.maxRssKb,
          stdoutTruncated: false,
          stderrTruncated: false,
          message: why,
        };
      }
    }

    const run: RunContext = {
      common,
      command: [...expandCommand(recipe.run, ctx), ...job.args],
      stdinPaths,
      privateDir,
      compiled: new Set(readdirSync(opts.workspace)),
    };
    const cases: CaseOutcome[] = [];
    for (const [i, testCase] of testCasesOf(job).entries()) {
      const failedBefore = cases.some((c) => c.status !== 'accepted');
      cases.push(job.stopOnFirstFailure && failedBefore ? SKIPPED : await runCase(job, run, testCase, i));
    }
    clock.lap('runMs');
    return summarize(job, cases, compileOutput, compilations);
  } finally {
    rmSync(privateDir, { recursive: true, force: true });
  }
}
