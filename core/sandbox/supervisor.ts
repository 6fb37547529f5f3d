// The caller's side of runner/sandbox/supervisor.c (the process transport): one
// long-lived supervisor process, spoken to in length-prefixed frames on its stdin and stdout (the wire is described
// at the top of supervisor.c). A job is a session: it is assigned a sandbox, gets one report per step, and tells the
// sandbox after each but the last whether to go on (after the last, the supervisor ends the job itself: one message
// fewer, and every message wakes a process).
import { spawn, type ChildProcess } from 'node:child_process';
import type { StepResult } from '../judge.js';
import { decodeStepReport, FrameSplitter, SandboxEnded, type StepSession } from './wire.js';

type Frame = { type: string; payload: Buffer };

export class SupervisorSession implements StepSession {
  private readonly frames: Frame[] = [];
  private waiter: ((f: Frame) => void) | null = null;
  private reports = 0;
  done = false;

  constructor(
    readonly id: number,
    private readonly send: (type: string, payload: Buffer) => void,
    /** The request's steps: once all have reported, the supervisor has ended the job. */
    private readonly steps: number,
  ) {}

  deliver(frame: Frame): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(frame);
    } else this.frames.push(frame);
  }

  private next(): Promise<Frame> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** The next frame of `type`; a refusal or the sandbox's end instead throws. */
  private async expect(type: 'A' | 'R'): Promise<Buffer> {
    const f = await this.next();
    if (f.type === type) return f.payload;
    if (f.type === 'F') throw new SandboxEnded(f.payload.toString('utf8'), 0);
    if (f.type === 'E') {
      const status = f.payload.readInt32LE(0);
      const oom = f.payload.readUInt32LE(4);
      throw new SandboxEnded(`the sandbox ended with no result (wait status ${status}, ${oom} OOM kills in its cgroup)`, oom);
    }
    throw new SandboxEnded(`unexpected frame ${f.type} from the supervisor`, 0);
  }

  /** Resolves once a sandbox took the job: true when one was ready, false when it was prepared for the job. */
  async assigned(): Promise<boolean> {
    return (await this.expect('A'))[0] === 1;
  }

  async report(merged: boolean): Promise<StepResult> {
    const report = decodeStepReport(await this.expect('R'), merged);
    this.reports++;
    return report;
  }

  /** After a report: run the next step, or end the job (its sandbox exits and is removed). */
  decide(goOn: boolean): void {
    // After the last step's report the supervisor ended the job already.
    if (!goOn && this.reports >= this.steps) return;
    this.send('C', Buffer.from(goOn ? 'c' : 's'));
  }

  kill(): void {
    this.send('K', Buffer.alloc(0));
  }
}

export interface SupervisorOptions {
  binary: string;
  args: string[];
  /** The supervisor's log lines (JSON) and its stderr. */
  onLog: (line: string) => void;
}

export class SandboxSupervisor {
  private readonly child: ChildProcess;
  private readonly sessions = new Map<number, SupervisorSession>();
  private nextId = 1;
  private readonly frames = new FrameSplitter();
  private exitError: Error | null = null;
  readonly exited: Promise<void>;
  /** Sandboxes ready for a job now (the supervisor says so whenever it changes). */
  readyCount = 0;

  constructor(opts: SupervisorOptions) {
    this.child = spawn(opts.binary, opts.args, { stdio: ['pipe', 'pipe', 'pipe'], env: {} });
    this.child.stdin!.on('error', () => {});
    this.child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    let stderr = '';
    this.child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      for (let nl = stderr.indexOf('\n'); nl >= 0; nl = stderr.indexOf('\n')) {
        opts.onLog(stderr.slice(0, nl));
        stderr = stderr.slice(nl + 1);
      }
    });
    this.exited = new Promise((resolve) => {
      const end = (why: string) => {
        this.exitError ??= new Error(why);
        for (const s of this.sessions.values()) s.deliver({ type: 'F', payload: Buffer.from(this.exitError.message) });
        this.sessions.clear();
        resolve();
      };
      this.child.on('error', (err) => end(`cannot start the sandbox supervisor ${opts.binary}: ${err.message}`));
      this.child.on('close', (code, signal) => end(`the sandbox supervisor exited (${code ?? signal})${stderr ? `: ${stderr.slice(0, 300)}` : ''}`));
    });
    this.onLog = opts.onLog;
  }

  private readonly onLog: (line: string) => void;

  get alive(): boolean {
    return this.exitError === null;
  }

  private write(id: number, type: string, payload: Buffer): void {
    if (!this.alive) return;
    const head = Buffer.allocUnsafe(9);
    head.writeUInt32LE(payload.length + 5, 0);
    head.writeUInt32LE(id, 4);
    head.write(type, 8, 'latin1');
    this.child.stdin!.write(Buffer.concat([head, payload]));
  }

  private onData(chunk: Buffer): void {
    // A body is u32 id | u8 type | payload.
    for (const body of this.frames.push(chunk)) this.onFrame(body.readUInt32LE(0), String.fromCharCode(body[4]), body.subarray(5));
  }

  private onFrame(id: number, type: string, payload: Buffer): void {
    if (type === 'Y') this.readyCount = payload.readUInt32LE(0);
    else if (type === 'L') this.onLog(payload.toString('utf8'));
    else {
      const session = this.sessions.get(id);
      if (!session) return;
      if (type === 'E') this.sessions.delete(id);
      session.deliver({ type, payload });
    }
  }

  /**
   * Hands a job to the supervisor: `label` names it in the supervisor's log, `budget` sizes its cgroup, `steps` is the
   * request's number of steps.
   */
  start(label: string, budget: { memoryBytes: number; pidsMax: number }, request: Buffer, steps: number): SupervisorSession {
    const id = this.nextId++;
    const session = new SupervisorSession(id, (type, payload) => this.write(id, type, payload), steps);
    if (!this.alive) {
      session.deliver({ type: 'F', payload: Buffer.from(this.exitError!.message) });
      return session;
    }
    this.sessions.set(id, session);
    const name = Buffer.from(label.slice(0, 200), 'utf8');
    const head = Buffer.allocUnsafe(16);
    head.writeBigUInt64LE(BigInt(budget.memoryBytes), 0);
    head.writeUInt32LE(budget.pidsMax, 8);
    head.writeUInt32LE(name.length, 12);
    this.write(id, 'J', Buffer.concat([head, name, request]));
    return session;
  }

  /** The job is over: frames still coming for it (its sandbox's end) are dropped. */
  forget(session: SupervisorSession): void {
    this.sessions.delete(session.id);
  }

  /** Ends every sandbox (jobs still running lose theirs), lets the supervisor remove their cgroups, waits for it. */
  async close(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }
}
