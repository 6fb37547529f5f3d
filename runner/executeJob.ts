// The lifecycle of one job inside a sandbox: prepare the workspace, compile under its own limits, run under
// the job's limits, decide the verdict, clean up in `finally`.
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { judgeJob, JOB_ENV, planJob, type StepPlan, type StepResult } from '../core/judge.js';
import { phaseClock, type PhaseClock } from '../core/phaseClock.js';
import { readCgroupCpuMs, readOomKills } from './cgroupCounters.js';
import { sampleMemory } from './memorySampler.js';
import { normalizeJob, type Job } from '../core/protocol/job.js';
import { JOB_UID_MIN } from '../core/protocol/limits.js';
import type { RunOutcome } from '../core/protocol/result.js';
import type { LauncherReport, SandboxedRun } from '../core/protocol/launcherReport.js';
import { cleanUp, CleanupFailed } from './cleanup.js';
import { runSandboxed } from './sandboxedCommand.js';
import type { SandboxMeasures } from '../core/verdict.js';

export interface ExecuteOptions {
  workspace: string;
  launcher: string;
}

/**
 * Where job code may write besides the workspace (/dev/shm exists only where the platform gives the sidecar's
 * container one). What one command of a job leaves in them is gone before the next runs.
 */
const JOB_SCRATCH = [JOB_ENV.TMPDIR, '/dev/shm'];

/** A uid no other job is likely to hold, so per-uid limits (RLIMIT_NPROC) and kill(-1) stay per job. */
function sandboxUid(): number {
  return randomInt(JOB_UID_MIN, 1_000_000_000);
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
  env: Record<string, string>;
  /** Each case's stdin, written before any job code ran. */
  stdinPaths: string[];
  /** The runner's own directory in /tmp (the stdin files): the one entry there a case may see. */
  privateDir: string;
  /** Entries of the workspace as the compile step (or the sources) left it. */
  compiled: Set<string>;
  /** The compile step's uid, which no case gets. */
  compileUid?: number;
}

/**
 * Makes /tmp (and /dev/shm) empty but for the runner's own directory, and the workspace what the compile step
 * left, before a case runs; returns why it could not, or null. The launcher already removed what earlier commands'
 * uids owned (--wipe, as that uid: it can undo whatever modes a job set), and what the compile step made is locked
 * (--lock-compiled: no case can write into it); what is left can only be entries of other owners in these sticky
 * directories (hard links), which their owner, root, removes through the launcher (cleanUp: any depth, no link
 * followed). Anything that stays keeps the case from running: it must not see what an earlier one left.
 */
async function freshScratch(ctx: RunContext, workspace: string, launcher: string): Promise<string | null> {
  const strays = () => [
    ...JOB_SCRATCH.filter((dir) => existsSync(dir)).flatMap((dir) => readdirSync(dir).map((name) => join(dir, name))).filter((path) => path !== ctx.privateDir),
    ...readdirSync(workspace).filter((name) => !ctx.compiled.has(name)).map((name) => join(workspace, name)),
  ];
  // The usual case: the launcher's wipe left nothing, and no cleanup process is started.
  if (strays().length === 0) return null;
  try {
    await cleanUp(launcher, {
      clear: [
        ...JOB_SCRATCH.map((dir) => ({ dir, keep: dir === dirname(ctx.privateDir) ? [basename(ctx.privateDir)] : [] })),
        { dir: workspace, keep: ctx.compiled },
      ],
    });
  } catch (err) {
    if (err instanceof CleanupFailed) return `what an earlier case left could not be removed (${err.message})`;
    throw err;
  }
  const left = strays();
  return left.length ? `what an earlier case left could not be removed: ${left.slice(0, 5).join(', ')}` : null;
}

/** The step result of a case that was not run because its scratch directories could not be made fresh. */
function notReset(why: string): StepResult {
  return {
    run: {
      report: { exitCode: null, signal: null, cpuMs: 0, wallMs: 0, maxRssKb: 0, killedBy: null, execError: why, selfCpuMs: 0 },
      stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutTruncated: false, stderrTruncated: false, interleaved: Buffer.alloc(0),
    },
    measured: { oomKilled: false, cpuMs: 0, memoryKb: 0 },
    workspace: 'not_reset',
  };
}

/** Runs one step of the plan through the launcher and measures it; the judge decides what it means. */
async function runStep(ctx: RunContext, workspace: string, launcher: string, step: StepPlan): Promise<StepResult> {
  if (step.kind === 'case') {
    const notFresh = await freshScratch(ctx, workspace, launcher);
    if (notFresh) return notReset(notFresh);
  }
  // Compiler and program get different uids: in the sticky workspace the program can then neither change nor
  // delete what the compiler made (and so cannot shrink the memory baseline it is measured on); the lock relies on it.
  let uid = sandboxUid();
  while (uid === ctx.compileUid) uid = sandboxUid();
  if (step.kind === 'compile') ctx.compileUid = uid;
  const before = { oom: readOomKills(), cgroupCpuMs: readCgroupCpuMs(), runner: process.cpuUsage() };
  const sampler = sampleMemory();
  let run;
  let sampledKb: number;
  try {
    run = await runSandboxed({
      launcher,
      cwd: workspace,
      env: ctx.env,
      uid,
      command: step.command,
      stdinPath: step.stdinIndex === null ? null : ctx.stdinPaths[step.stdinIndex],
      limits: step.limits,
      outputCapBytes: step.outputCapBytes,
      // A compiler's temporary files go, what it made in the workspace is the program; a case leaves nothing.
      wipe: step.kind === 'compile' ? JOB_SCRATCH : [...JOB_SCRATCH, workspace],
      // What the compiler made becomes read-only to every other uid, and is counted (too much is a compile_error).
      lockCompiled: step.kind === 'compile',
    });
  } finally {
    // Always stopped: a live sampling timer would keep the runner from exiting.
    sampledKb = sampler.stop();
  }
  const { workspace: workspaceState, ...sandboxed } = run;
  let result: SandboxedRun = sandboxed;
  if (step.kind === 'compile') {
    ctx.compiled = new Set(readdirSync(workspace));
    result = { ...result, stdout: result.interleaved };
  }
  return { run: result, measured: measureAround(before, result.report, sampledKb), workspace: workspaceState };
}

export async function executeJob(job: Job, opts: ExecuteOptions): Promise<RunOutcome> {
  const clock = phaseClock();
  const outcome = await judge(job, opts, clock);
  return { ...outcome, phases: clock.phases };
}

async function judge(job: Job, opts: ExecuteOptions, clock: PhaseClock): Promise<RunOutcome> {
  const plan = planJob(job);
  // Runner-private files (stdin) live outside the workspace in a directory only root can enter.
  const privateDir = mkdtempSync(join(tmpdir(), 'runner-'));
  try {
    for (const f of plan.files) writeFileSync(join(opts.workspace, f.name), f.content, { mode: 0o644, flag: 'wx' });
    // Every case's stdin now, while the /tmp it shares with the job is empty: a program that fills /tmp (it may,
    // within its size and inode caps) must not leave the runner unable to write the next case's input.
    const stdinPaths = plan.stdins.map((stdin, i) => {
      const path = join(privateDir, `stdin-${i}`);
      writeFileSync(path, stdin, { mode: 0o600 });
      return path;
    });
    const ctx: RunContext = { env: plan.env, stdinPaths, privateDir, compiled: new Set(readdirSync(opts.workspace)) };
    clock.lap('workspaceMs');
    return await judgeJob(job, plan, (step) => runStep(ctx, opts.workspace, opts.launcher, step), clock);
  } finally {
    // The runner's own directory (0700, flat: stdin files), which no job can write into: rmSync is safe here.
    rmSync(privateDir, { recursive: true, force: true });
  }
}
