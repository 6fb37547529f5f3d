import { describe, expect, it } from 'vitest';
import { normalizeJob } from '../../core/protocol/job.js';
import type { LauncherReport, SandboxedRun } from '../../core/protocol/launcherReport.js';
import { decideVerdict, outputMatches } from '../../core/verdict.js';

const job = normalizeJob({ id: 'v', language: 'python', code: '', timeLimitMs: 1000, memoryLimitMb: 64, expectedOutput: '1\n2' });

function run(report: Partial<LauncherReport>, stdout = '1\n2\n'): SandboxedRun {
  return {
    report: { exitCode: 0, signal: null, cpuMs: 10, wallMs: 12, maxRssKb: 1000, killedBy: null, execError: null, selfCpuMs: 1, ...report },
    stdout: Buffer.from(stdout),
    stderr: Buffer.alloc(0),
    interleaved: Buffer.alloc(0),
    stdoutTruncated: false,
    stderrTruncated: false,
  };
}

describe('verdict', () => {
  it('compares output line by line ignoring trailing whitespace', () => {
    expect(outputMatches('1  \n2\r\n\n', '1\n2')).toBe(true);
    expect(outputMatches('1\n 2', '1\n2')).toBe(false);
    expect(outputMatches('1\n2\n3', '1\n2')).toBe(false);
  });

  it.each([
    [{}, undefined, 'accepted'],
    [{}, '1\n3\n', 'wrong_answer'],
    [{ exitCode: 3 }, undefined, 'runtime_error'],
    [{ exitCode: null, signal: 'SIGSEGV' }, undefined, 'runtime_error'],
    [{ cpuMs: 1001 }, undefined, 'time_limit_exceeded'],
    [{ exitCode: null, signal: 'SIGXCPU' }, undefined, 'time_limit_exceeded'],
    [{ exitCode: null, signal: 'SIGKILL', killedBy: 'wall' as const }, undefined, 'time_limit_exceeded'],
    [{ maxRssKb: 64 * 1024 + 1 }, undefined, 'memory_limit_exceeded'],
    [{ exitCode: null, signal: 'SIGKILL', killedBy: 'request' as const, cpuMs: 5000 }, undefined, 'output_limit_exceeded'],
    [{ execError: 'No such file or directory' }, undefined, 'internal_error'],
  ])('%j → %s', (report, stdout, status) => {
    expect(decideVerdict(job, run(report, stdout), { oomKilled: false, cpuMs: run(report).report.cpuMs, memoryKb: run(report).report.maxRssKb }, job.expectedOutput).status).toBe(status);
  });

  it('an OOM kill is memory_limit_exceeded even below the measured limit', () => {
    expect(decideVerdict(job, run({ exitCode: null, signal: 'SIGKILL' }), { oomKilled: true, cpuMs: 10, memoryKb: 1000 }, job.expectedOutput).status).toBe('memory_limit_exceeded');
  });

  it('memory spread over processes or tmpfs counts, though no single process was over', () => {
    expect(decideVerdict(job, run({ maxRssKb: 40 * 1024 }), { oomKilled: false, cpuMs: 10, memoryKb: 80 * 1024 }, job.expectedOutput).status).toBe('memory_limit_exceeded');
  });

  it('CPU the cgroup saw counts even when rusage missed it (auto-reaped children)', () => {
    expect(decideVerdict(job, run({ cpuMs: 5 }), { oomKilled: false, cpuMs: 1500, memoryKb: 1000 }, job.expectedOutput).status).toBe('time_limit_exceeded');
  });

  it('output over the cap is output_limit_exceeded even if the program exited 0 first', () => {
    const r = run({});
    r.stdoutTruncated = true;
    expect(decideVerdict(job, r, { oomKilled: false, cpuMs: 10, memoryKb: 1000 }, job.expectedOutput).status).toBe('output_limit_exceeded');
  });
});
