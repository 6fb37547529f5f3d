// What every attack of the security battery is made of: the context it runs in, what it observed, and the helpers
// that run one job and check it (attacks.ts and caseIsolation.ts hold the attacks themselves).
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { JobInput } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import type { RunnerTransport } from '../../worker/transports/transport.js';
import type { TestRedis } from '../support/redisServer.js';
import type { HostWatch } from './hostWatch.js';

export type JobSpec = Omit<JobInput, 'id'>;

export interface AttackContext {
  /** Runs one job through the transport under test, under a fresh id. */
  run(job: JobSpec): Promise<RunOutcome>;
  transport: RunnerTransport;
  host: HostWatch;
  /** A Redis for attacks that go through a real worker (not the watched one). */
  queue: TestRedis;
}

export interface Observed {
  /** Every outcome the attack got: the battery scans them for host secrets. */
  outcomes: RunOutcome[];
  /** What the table shows for the cell. */
  verdict: string;
}

export interface Attack {
  name: string;
  run(ctx: AttackContext): Promise<Observed>;
  timeoutMs?: number;
}

const SHORT: Record<string, string> = {
  accepted: 'AC', wrong_answer: 'WA', runtime_error: 'RE', time_limit_exceeded: 'TLE', memory_limit_exceeded: 'MLE',
  output_limit_exceeded: 'OLE', compile_error: 'CE', internal_error: 'IE', rejected: 'REJ', skipped: 'SKIP',
};
export const short = (status: string) => SHORT[status] ?? status;

/** An attack whose checks failed: carries the verdict it got, and says what the job printed. */
export class AttackFailed extends Error {
  constructor(
    readonly verdict: string,
    cause: Error,
    outcomes: RunOutcome[],
  ) {
    const shown = outcomes.map((r) => ({ status: r.status, message: r.message, exitCode: r.exitCode, signal: r.signal, stdout: r.stdout.slice(0, 1500), stderr: r.stderr.slice(0, 1500) }));
    super(`${cause.message}\noutcomes: ${JSON.stringify(shown, null, 2)}`);
    this.name = 'AttackFailed';
    this.stack = `${this.name}: ${this.message}\n${cause.stack?.split('\n').slice(1).join('\n') ?? ''}`;
  }
}

/** Runs `check`; on failure, an AttackFailed with the verdict and the outcomes. */
export function checked<T>(verdict: string, outcomes: RunOutcome[], check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new AttackFailed(verdict, err as Error, outcomes);
  }
}

/** One job, one outcome, checked by `check`. */
export function single(name: string, job: (ctx: AttackContext) => JobSpec, check: (r: RunOutcome, ctx: AttackContext) => void, timeoutMs?: number): Attack {
  return {
    name,
    timeoutMs,
    async run(ctx) {
      const r = await ctx.run(job(ctx));
      checked(short(r.status), [r], () => check(r, ctx));
      return { outcomes: [r], verdict: short(r.status) };
    },
  };
}

export const lines = (...l: string[]) => l.join('\n');
export const secret = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
/** A string the program builds at run time, so that its own source never contains the needle it hunts. */
export const split = (s: string) => `${JSON.stringify(s.slice(0, 3))} + ${JSON.stringify(s.slice(3))}`;

