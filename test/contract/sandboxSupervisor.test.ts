// The sandbox supervisor's wire, spoken raw (runner/sandbox/supervisor.c): a frame it cannot parse is refused
// with an error and never run, a valid request runs and its job ends after its last step without a decision, a job
// ended early or killed ends at once, and a supervisor whose worker goes away takes its sandboxes and their cgroups
// with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { planJob } from '../../core/judge.js';
import { normalizeJob } from '../../core/protocol/job.js';
import { sandboxBudget } from '../../core/protocol/limits.js';
import { SUPERVISOR_BINARY } from '../../core/sandbox/supervisedSandboxes.js';
import { encodeRequest } from '../../core/sandbox/wire.js';
import { expectNothingLeft, sandboxCgroups } from '../support/leftovers.js';
import { testDeployment } from '../support/sandboxClaims.js';
import { until } from '../support/until.js';

type Frame = { id: number; type: string; payload: Buffer };

/** A supervisor with no sandbox ready ahead, and the frames it sends, as they come. */
function startSupervisor(): {
  proc: ChildProcess;
  send(id: number, type: string, payload: Buffer): void;
  next(id: number): Promise<Frame>;
  /** Frames received and not taken by next(), but the ready counts (id 0). */
  pending(): string[];
} {
  const proc = spawn(SUPERVISOR_BINARY, [
    '--ready', '0', '--name-prefix', `${testDeployment('supervisor-test')}~raw@sandbox-`, '--memory-bytes', String(256 << 20), '--pids-max', '64',
    '--tmpfs-mb', '16', '--tmpfs-inodes', '1024', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64', '--dev', 'null',
  ], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buffered = Buffer.alloc(0);
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32LE(0)) {
      const len = buffered.readUInt32LE(0);
      frames.push({ id: buffered.readUInt32LE(4), type: String.fromCharCode(buffered[8]), payload: buffered.subarray(9, 4 + len) });
      buffered = buffered.subarray(4 + len);
      waiters.splice(0).forEach((w) => w());
    }
  });
  return {
    proc,
    send(id, type, payload) {
      const head = Buffer.alloc(9);
      head.writeUInt32LE(payload.length + 5, 0);
      head.writeUInt32LE(id, 4);
      head.write(type, 8, 'latin1');
      proc.stdin!.write(Buffer.concat([head, payload]));
    },
    pending: () => frames.filter((f) => f.id !== 0).map((f) => `${f.id} ${f.type}`),
    async next(id) {
      for (;;) {
        const at = frames.findIndex((f) => f.id === id);
        if (at >= 0) return frames.splice(at, 1)[0];
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

function jobFrame(request: Buffer, budget = sandboxBudget({ memoryLimitMb: 64, maxProcesses: 16 })): Buffer {
  const head = Buffer.alloc(16);
  head.writeBigUInt64LE(BigInt(budget.memoryBytes), 0);
  head.writeUInt32LE(budget.pidsMax, 8);
  head.writeUInt32LE(4, 12);
  return Buffer.concat([head, Buffer.from('test'), request]);
}

const echo = () => encodeRequest(planJob(normalizeJob({ id: 'raw', language: 'bash', code: 'echo ran' })));
/** A job of two cases. */
const twoCases = () => encodeRequest(planJob(normalizeJob({ id: 'raw', language: 'bash', code: 'echo ran', testCases: [{ stdin: '' }, { stdin: '' }] })));

/** Until the supervisor has no sandbox cgroup left (it was started with none ready ahead): the job's sandbox is gone. */
const sandboxGone = (what: string) => until(what, () => sandboxCgroups().length === 0, 15_000);

let running: ChildProcess | undefined;
afterEach(async () => {
  running?.stdin?.end();
  if (running && running.exitCode === null) await new Promise((r) => running!.once('close', r));
  running = undefined;
  await expectNothingLeft();
});

describe('the sandbox supervisor, spoken to raw', () => {
  it('runs a valid request: assigned, one report with the output, then the sandbox ends without being told', async () => {
    const s = startSupervisor();
    running = s.proc;
    s.send(1, 'J', jobFrame(echo()));
    expect((await s.next(1)).type).toBe('A');
    const report = await s.next(1);
    expect(report.type).toBe('R');
    expect(report.payload.includes(Buffer.from('ran\n'))).toBe(true);
    await sandboxGone('the sandbox of a job whose last step reported to end');
    // A decision after the last report (as an older worker sends it) changes nothing; the job's end is no news ('E'
    // is for a sandbox that ended before its job did): the next frame is the next job's.
    s.send(1, 'C', Buffer.from('s'));
    s.send(2, 'J', jobFrame(echo()));
    expect((await s.next(2)).type).toBe('A');
    expect((await s.next(2)).type).toBe('R');
    s.send(3, 'Z', Buffer.alloc(0));
    await s.next(3);
    expect(s.pending()).toEqual([]);
  });

  it('runs the next step on "c", ends the job on anything else, and reports a sandbox killed mid-job as ended', async () => {
    const s = startSupervisor();
    running = s.proc;
    s.send(1, 'J', jobFrame(twoCases()));
    expect((await s.next(1)).type).toBe('A');
    expect((await s.next(1)).type).toBe('R');
    s.send(1, 'C', Buffer.from('c'));
    expect((await s.next(1)).type).toBe('R');
    await sandboxGone('the sandbox of a job whose second and last step reported');
    // Ended after its first step: no second report.
    s.send(2, 'J', jobFrame(twoCases()));
    expect((await s.next(2)).type).toBe('A');
    expect((await s.next(2)).type).toBe('R');
    s.send(2, 'C', Buffer.from('s'));
    await sandboxGone('the sandbox of a job ended after its first step');
    // Killed while it runs: the worker hears that its sandbox ended.
    s.send(3, 'J', jobFrame(encodeRequest(planJob(normalizeJob({ id: 'raw', language: 'bash', code: 'sleep 30' })))));
    expect((await s.next(3)).type).toBe('A');
    // What sandboxGone waits to see go.
    expect(sandboxCgroups().length).toBeGreaterThan(0);
    s.send(3, 'K', Buffer.alloc(0));
    expect((await s.next(3)).type).toBe('E');
    s.send(4, 'Z', Buffer.alloc(0));
    await s.next(4);
    expect(s.pending()).toEqual([]);
  });

  it('refuses what it cannot parse, runs none of it, and goes on serving', async () => {
    const s = startSupervisor();
    running = s.proc;
    const valid = echo();
    // A request cut short, one with trailing bytes, one naming a file outside the workspace.
    const cut = valid.subarray(0, valid.length - 3);
    const trailing = Buffer.concat([valid, Buffer.from('xx')]);
    const escaping = encodeRequest({ ...planJob(normalizeJob({ id: 'raw', language: 'bash', code: 'echo ran' })), files: [{ name: '../main.sh', content: 'echo ran' }] });
    for (const [id, request] of [[2, cut], [3, trailing], [4, escaping]] as const) {
      s.send(id, 'J', jobFrame(request));
      expect((await s.next(id)).type).toBe('A');
      const refused = await s.next(id);
      expect(refused.type, refused.payload.toString()).toBe('F');
      expect(refused.payload.toString()).toMatch(/^refused the request: /);
      // Never a report: the sandbox ended without running a step.
      expect((await s.next(id)).type).toBe('E');
    }
    s.send(5, 'J', jobFrame(valid, { memoryBytes: 1 << 20, pidsMax: 4 }));
    expect((await s.next(5)).payload.toString()).toMatch(/^refused: a job's sandbox budget is below the minimum/);
    s.send(6, 'Z', Buffer.alloc(0));
    const unknown = await s.next(6);
    expect({ type: unknown.type, text: unknown.payload.toString() }).toEqual({ type: 'F', text: 'refused: unknown frame type' });
    s.send(7, 'J', Buffer.from('short'));
    expect((await s.next(7)).payload.toString()).toBe('refused: a malformed job frame');
    // Still serving.
    s.send(8, 'J', jobFrame(valid));
    expect((await s.next(8)).type).toBe('A');
    expect((await s.next(8)).type).toBe('R');
  });

  it('ends every sandbox, and removes their cgroups, when its worker goes away', async () => {
    const s = startSupervisor();
    // A job still running (sleeping) when the worker's end of the pipe closes.
    s.send(1, 'J', jobFrame(encodeRequest(planJob(normalizeJob({ id: 'raw', language: 'bash', code: 'sleep 30' })))));
    expect((await s.next(1)).type).toBe('A');
    s.proc.stdin!.end();
    const code = await new Promise((r) => s.proc.once('close', r));
    expect(code).toBe(0);
  });
});
