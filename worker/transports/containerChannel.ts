// The worker's end of a runner executor's socket (runner/sandbox/executor.c: a docker container's, or a sidecar's):
// frames of u32 length | u8 type | payload, as any sandbox speaks them (runner/sandbox/sandbox.h).
import { existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { TransportError } from '../../core/errors.js';
import type { StepResult } from '../../core/judge.js';
import { FrameSplitter, stepReportOf, u32, type StepSession } from '../../core/sandbox/wire.js';

type Frame = { type: string; payload: Buffer };

function connectOnce(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

export class ContainerChannel implements StepSession {
  private readonly splitter = new FrameSplitter();
  private readonly frames: Frame[] = [];
  private waiter: ((f: Frame | null) => void) | null = null;
  private ended = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const end = () => {
      this.ended = true;
      this.waiter?.(null);
      this.waiter = null;
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  /** Connects once the executor listens (it creates the socket when it starts) and waits for it to say ready. */
  static async connect(path: string, timeoutMs: number): Promise<ContainerChannel> {
    const deadline = Date.now() + timeoutMs;
    // The executor binds its socket a few milliseconds after the container starts.
    for (let wait = 1; !existsSync(path); wait = Math.min(wait * 2, 20)) {
      if (Date.now() > deadline) throw new TransportError(`the runner container's executor did not listen within ${timeoutMs} ms`);
      await delay(wait);
    }
    // The socket exists from its bind(); until the executor's listen() a connection is refused. A sidecar's backlog
    // can also be full (more connections waiting than it holds): EAGAIN, tried again as well.
    let socket: Socket;
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      try {
        socket = await connectOnce(path);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ECONNREFUSED' && code !== 'EAGAIN') || Date.now() > deadline) throw err;
        await delay(wait);
      }
    }
    const channel = new ContainerChannel(socket);
    // A sidecar's executor says ready once it takes the connection: after the job before this one, if any.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()))));
    const ready = await Promise.race([channel.next(), late]).finally(() => clearTimeout(timer));
    if (ready === 'late') {
      channel.close();
      throw new TransportError(`the runner's executor did not say ready within ${timeoutMs} ms`);
    }
    if (ready?.type !== 'Y') throw new TransportError(`the runner container's executor did not say ready: ${ready?.payload.toString('utf8') ?? 'its channel closed'}`);
    return channel;
  }

  private onData(chunk: Buffer): void {
    // A body is u8 type | payload.
    for (const body of this.splitter.push(chunk)) {
      const frame = { type: String.fromCharCode(body[0]), payload: body.subarray(1) };
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(frame);
      } else this.frames.push(frame);
    }
  }

  private next(): Promise<Frame | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  sendRequest(request: Buffer): void {
    this.socket.write(Buffer.concat([u32(request.length), request]));
  }

  async report(merged: boolean): Promise<StepResult> {
    return stepReportOf(await this.next(), merged, 'from the executor', 'the executor closed its channel before the job was done');
  }

  decide(goOn: boolean): void {
    if (!this.ended) this.socket.write(goOn ? 'c' : 's');
  }

  close(): void {
    this.socket.destroy();
  }
}
