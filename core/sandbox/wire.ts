// What a sandbox and the worker say to each other about one job (runner/sandbox/sandbox.h), whichever way the
// frames travel (through the process transport's supervisor, or a docker container's socket): the request, the
// step reports, and the judge driving the steps.
import { constants } from 'node:os';
import { judgeJob, type JobPlan, type StepResult } from '../judge.js';
import type { PhaseClock } from '../phaseClock.js';
import type { Job } from '../protocol/job.js';
import type { LauncherReport, WorkspaceState } from '../protocol/launcherReport.js';
import type { RunOutcome } from '../protocol/result.js';

/** Signal numbers to names, the first name of each number (SIGABRT, not its alias SIGIOT). */
const SIGNAL_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(constants.signals)) if (!SIGNAL_NAMES.has(n)) SIGNAL_NAMES.set(n, name);

export function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(n))));
  return b;
}

function bytes(value: string | Buffer): Buffer[] {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return [u32(b.length), b];
}

/** The request a sandbox runs (parse_request in supervisor.c). */
export function encodeRequest(plan: JobPlan): Buffer {
  const parts: Buffer[] = [u32(plan.files.length)];
  for (const f of plan.files) parts.push(...bytes(f.name), ...bytes(f.content));
  parts.push(u32(plan.stdins.length));
  for (const s of plan.stdins) parts.push(...bytes(s));
  const env = Object.entries(plan.env);
  parts.push(u32(env.length));
  for (const [k, v] of env) parts.push(...bytes(`${k}=${v}`));
  parts.push(u32(plan.steps.length));
  for (const s of plan.steps) {
    const head = Buffer.alloc(6);
    head.writeUInt8(s.kind === 'compile' ? 0 : 1, 0);
    head.writeUInt8(s.mergeOutput ? 1 : 0, 1);
    head.writeInt32LE(s.stdinIndex ?? -1, 2);
    const l = s.limits;
    parts.push(head, u64(l.cpuMs), u64(l.wallMs), u64(l.nproc), u64(l.fsizeBytes), u64(l.stackBytes), u64(l.nofile), u64(s.outputCapBytes), u32(s.command.length));
    for (const arg of s.command) parts.push(...bytes(arg));
  }
  return Buffer.concat(parts);
}

/** enum workspace_state of runner/sandbox/scratch.h, by number. */
const WORKSPACE_BY_NUMBER: Record<number, WorkspaceState> = { 0: 'ok', 2: 'too_many_entries', 3: 'too_deep', 4: 'lock_failed', 5: 'not_reset' };

/** A step report (run_step in sandbox.c) as the judge takes it. */
export function decodeStepReport(b: Buffer, merged: boolean): StepResult {
  let at = 0;
  const i32 = () => ((at += 4), b.readInt32LE(at - 4));
  const u8 = () => b.readUInt8(at++);
  const n64 = () => ((at += 8), Number(b.readBigUInt64LE(at - 8)));
  const data = () => {
    const n = b.readUInt32LE(at);
    at += 4 + n;
    return b.subarray(at - n, at);
  };
  const exitCode = i32();
  const signal = i32();
  const killedBy = u8();
  const stdoutTruncated = u8() === 1;
  const stderrTruncated = u8() === 1;
  const oomKilled = u8() === 1;
  const cpuMs = n64();
  const measuredCpuMs = n64();
  const wallMs = n64();
  const maxRssKb = n64();
  const memoryKb = n64();
  const execError = data().toString('utf8');
  const stdout = Buffer.from(data());
  const stderr = Buffer.from(data());
  const workspace = WORKSPACE_BY_NUMBER[u8()] ?? 'lock_failed';
  const report: LauncherReport = {
    exitCode: exitCode < 0 ? null : exitCode,
    signal: signal ? (SIGNAL_NAMES.get(signal) ?? `SIG${signal}`) : null,
    cpuMs, wallMs, maxRssKb,
    killedBy: killedBy === 1 ? 'wall' : killedBy === 2 ? 'request' : null,
    execError: execError || null,
    selfCpuMs: 0,
  };
  return {
    run: { report, stdout, stderr, stdoutTruncated, stderrTruncated, interleaved: merged ? stdout : Buffer.alloc(0) },
    measured: { oomKilled, cpuMs: measuredCpuMs, memoryKb },
    workspace,
  };
}

/** How a session's sandbox ended before the job was done with it. */
export class SandboxEnded extends Error {
  constructor(message: string, readonly oomKills: number) {
    super(message);
    this.name = 'SandboxEnded';
  }
}

/**
 * Splits a byte stream into frames of u32 length | body (the length counts the body): what both ends of every
 * sandbox wire send. Chunks are joined only once a frame is complete, so a large report costs one copy.
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** The bodies of the frames this chunk completes, in order. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const bodies: Buffer[] = [];
    while (this.buffered >= 4) {
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const len = this.chunks[0].readUInt32LE(0);
      if (this.buffered < 4 + len) break;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      bodies.push(all.subarray(4, 4 + len));
      const rest = all.subarray(4 + len);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
    return bodies;
  }
}

/**
 * The report a sandbox's frame carries, for the channels that read its frames as they come (an executor's socket, a
 * pod's log): `R` is a step's report; `F` (refused, or setup failed), another frame, or none (`ended` says why) end
 * the session. `where` names the channel in the message about an unexpected frame.
 */
export function stepReportOf(frame: { type: string; payload: Buffer } | null | undefined, merged: boolean, where: string, ended: string): StepResult {
  if (frame?.type === 'R') return decodeStepReport(frame.payload, merged);
  if (frame?.type === 'F') throw new SandboxEnded(frame.payload.toString('utf8'), 0);
  throw new SandboxEnded(frame ? `unexpected frame ${frame.type} ${where}` : ended, 0);
}

/** One job's conversation with its sandbox. */
export interface StepSession {
  /** The next step's report; a refusal or the sandbox's end instead throws SandboxEnded. */
  report(merged: boolean): Promise<StepResult>;
  /** After a report: run the next step, or end the job (the sandbox exits). */
  decide(goOn: boolean): void;
}

/** Runs the plan's steps in the sandbox as the judge asks for them, and ends the job when it has its outcome. */
export async function judgeInSandbox(job: Job, plan: JobPlan, session: StepSession, clock: PhaseClock): Promise<RunOutcome> {
  let first = true;
  try {
    return await judgeJob(job, plan, (step) => {
      if (!first) session.decide(true);
      first = false;
      return session.report(step.mergeOutput);
    }, clock);
  } finally {
    session.decide(false);
  }
}

/**
 * For jobs judged here (the process and docker transports): the clock's phases, with runner (the request handed
 * over until the outcome: workspace, compile, run) and, with a warm pool, poolHit.
 */
export function withJudgedPhases(outcome: RunOutcome, clock: PhaseClock, pooled?: boolean): RunOutcome {
  const p = clock.phases;
  const runnerMs = Math.round(((p.workspaceMs ?? 0) + (p.compileMs ?? 0) + (p.runMs ?? 0)) * 10) / 10;
  return { ...outcome, phases: { ...p, runnerMs, ...(pooled === undefined ? {} : { poolHit: pooled ? 1 : 0 }) } };
}
