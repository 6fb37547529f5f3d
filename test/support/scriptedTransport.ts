// NOT a sandbox. A transport for tests of what happens around a run (where results are written, what the
// metrics count), where the transport is not what is under test: it answers each job with the outcome a
// test scripts, at once. Real runs go through the process transport in test/datapath/endToEnd.test.ts and
// the contract suite. It never starts a process and has nothing to reap.
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { TransportError } from '../../core/errors.js';
import type { RunnerTransport } from '../../worker/transports/transport.js';

export class ScriptedTransport implements RunnerTransport {
  readonly mode = 'process' as const;
  readonly jobs: Job[] = [];
  /** When set, run() fails like a transport whose engine is down. */
  failWith: string | null = null;

  constructor(private readonly answer: (job: Job) => Partial<RunOutcome> = () => ({})) {}

  async run(job: Job): Promise<RunOutcome> {
    this.jobs.push(job);
    if (this.failWith) throw new TransportError(this.failWith);
    return {
      status: 'accepted', stdout: `ran ${job.id}\n`, stderr: '', compileOutput: '', exitCode: 0, signal: null,
      timeMs: 12, wallTimeMs: 20, memoryKb: 4096, stdoutTruncated: false, stderrTruncated: false, message: null,
      ...this.answer(job),
    };
  }

  async languages(): Promise<null> {
    return null;
  }

  async close(): Promise<void> {}

  async reapOrphans(): Promise<number> {
    return 0;
  }
}
