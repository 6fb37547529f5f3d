// The judge's own decisions, given step results as a sandbox reports them: the job's time budget, what the sandbox
// says of the workspace, and whose fault a program that cannot start is. (The sandboxes themselves are exercised
// through every transport by the battery: test/security/caseIsolation.ts.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judgeJob, planJob, type StepPlan, type StepResult } from '../../core/judge.js';
import { phaseClock } from '../../core/phaseClock.js';
import { normalizeJob } from '../../core/protocol/job.js';
import type { LauncherReport, WorkspaceState } from '../../core/protocol/launcherReport.js';
import { MAX_COMPILED_DEPTH, MAX_COMPILED_ENTRIES } from '../../core/protocol/limits.js';
import { jobBudgetMs } from '../../core/protocol/runnerOutput.js';
import { TransportError } from '../../core/errors.js';

function step(report: Partial<LauncherReport> = {}, workspace?: WorkspaceState, stdout = ''): StepResult {
  return {
    run: {
      report: { exitCode: 0, signal: null, cpuMs: 1, wallMs: 2, maxRssKb: 1000, killedBy: null, execError: null, selfCpuMs: 0, ...report },
      stdout: Buffer.from(stdout), stderr: Buffer.alloc(0), interleaved: Buffer.alloc(0), stdoutTruncated: false, stderrTruncated: false,
    },
    measured: { oomKilled: false, cpuMs: 1, memoryKb: 1000 },
    workspace,
  };
}

const judge = (job: ReturnType<typeof normalizeJob>, runStep: (s: StepPlan, i: number) => Promise<StepResult>) =>
  judgeJob(job, planJob(job), runStep, phaseClock());

describe('the judge', () => {
  it('runs no case its time budget has no room for, and gives the job a verdict for it', async () => {
    const job = normalizeJob({
      id: 'b', language: 'python', code: '', timeLimitMs: 50, wallTimeLimitMs: 100, compileTimeLimitMs: 1,
      testCases: [{ stdin: '1' }, { stdin: '2' }, { stdin: '3' }],
    });
    const budget = jobBudgetMs(job);
    const ran: number[] = [];
    // The first case leaves room for just one more (as a sandbox slow to reset would), the second takes 100 ms.
    const outcome = await judge(job, async (_s, i) => {
      ran.push(i);
      await new Promise((r) => setTimeout(r, i === 0 ? budget - job.wallTimeLimitMs - 50 : 100));
      return step({}, undefined, '');
    });
    expect(ran).toEqual([0, 1]);
    expect(outcome.testCases!.map((c) => c.status)).toEqual(['accepted', 'accepted', 'time_limit_exceeded']);
    expect(outcome.status).toBe('time_limit_exceeded');
    expect(outcome.message).toMatch(new RegExp(`^not run: the job's time budget of ${budget} ms`));
  }, 30_000);

  it('makes a compile step that left too much a compile_error, and a lock the sandbox could not make the platform\'s fault', async () => {
    const job = normalizeJob({ id: 'c', language: 'c', code: 'int main(void) { return 0; }' });
    await expect(judge(job, async () => step({}, 'too_many_entries'))).resolves.toMatchObject({
      status: 'compile_error', message: `the compile step left more than ${MAX_COMPILED_ENTRIES} files and directories in the workspace`,
    });
    await expect(judge(job, async () => step({}, 'too_deep'))).resolves.toMatchObject({
      status: 'compile_error', message: `the compile step left directories nested deeper than ${MAX_COMPILED_DEPTH} levels in the workspace`,
    });
    await expect(judge(job, async () => step({}, 'lock_failed'))).rejects.toBeInstanceOf(TransportError);
  });

  it('fails a case closed when the sandbox could not remove what an earlier case left', async () => {
    const job = normalizeJob({ id: 'r', language: 'python', code: '', testCases: [{ stdin: '1' }, { stdin: '2' }] });
    const outcome = await judge(job, async (_s, i) => (i === 0 ? step() : step({ exitCode: null, execError: 'what an earlier case left could not be removed' }, 'not_reset')));
    expect(outcome.testCases!.map((c) => c.status)).toEqual(['accepted', 'runtime_error']);
    expect(outcome.message).toBe('not run: what an earlier case left could not be removed');
  });

  it('blames the job for its own program that cannot start, and the platform for an interpreter that cannot', async () => {
    const compiled = normalizeJob({ id: 'e', language: 'c', code: '' });
    await expect(judge(compiled, async (s) => (s.kind === 'compile' ? step() : step({ exitCode: 127, execError: 'No such file or directory' })))).resolves
      .toMatchObject({ status: 'runtime_error', message: 'could not start the program: No such file or directory' });
    const interpreted = normalizeJob({ id: 'i', language: 'python', code: '' });
    await expect(judge(interpreted, async () => step({ exitCode: 127, execError: 'No such file or directory' }))).resolves
      .toMatchObject({ status: 'internal_error' });
  });

  it('holds the compile caps the C sandboxes enforce (runner/sandbox/scratch.h)', () => {
    const header = readFileSync(join(import.meta.dirname, '../../runner/sandbox/scratch.h'), 'utf8');
    expect(header).toMatch(new RegExp(`#define MAX_COMPILED_ENTRIES ${MAX_COMPILED_ENTRIES}\\b`));
    expect(header).toMatch(new RegExp(`#define MAX_COMPILED_DEPTH ${MAX_COMPILED_DEPTH}\\b`));
  });
});
