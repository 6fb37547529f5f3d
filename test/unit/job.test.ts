import { describe, expect, it } from 'vitest';
import { checkCaps, JobRejected, normalizeJob, parseJob, precheckJob } from '../../core/protocol/job.js';
import { DEFAULT_CAPS, defaultWallTimeMs } from '../../core/protocol/limits.js';

function rejection(fn: () => unknown): JobRejected {
  try {
    fn();
  } catch (err) {
    if (err instanceof JobRejected) return err;
    throw err;
  }
  throw new Error('expected a JobRejected');
}

describe('job protocol v1', () => {
  it('fills every default limit', () => {
    const job = normalizeJob({ id: 'a-1', language: 'python', code: 'print(1)' });
    expect(job).toMatchObject({ timeLimitMs: 2000, wallTimeLimitMs: defaultWallTimeMs(2000), memoryLimitMb: 256, maxProcesses: 64, maxOutputBytes: 65536, stdin: '', args: [] });
  });

  it.each([
    [{ language: 'python', code: '' }, /id/],
    [{ id: 'bad id!', language: 'python', code: '' }, /id must be/],
    [{ id: 'x', language: 'python' }, /exactly one of "code", "files" or "codeKey"/],
    [{ id: 'x', language: 'python', code: '', files: [{ name: 'a.py', content: '' }] }, /exactly one/],
    [{ id: 'x', language: 'python', files: [{ name: '../etc/passwd', content: '' }] }, /file names/],
    [{ id: 'x', language: 'python', files: [{ name: 'a.py', content: '' }, { name: 'a.py', content: '' }] }, /unique/],
    [{ id: 'x', language: 'python', code: '', timeLimitMs: -5 }, /timeLimitMs/],
    [{ id: 'x', language: 'python', code: '', surprise: 1 }, /surprise|Unrecognized/],
    [{ id: 'x', language: 'malbolge', code: '' }, /unknown language "malbolge"/],
    [{ id: 'x', language: 'python', code: '', testCases: [] }, /testCases/],
    [{ id: 'x', language: 'python', code: '', stdin: '1', testCases: [{ stdin: '1' }] }, /per case, not at the top level/],
    [{ id: 'x', language: 'python', code: '', testCases: [{ input: '1' }] }, /input|Unrecognized/],
  ])('rejects %j with a message', (raw, message) => {
    expect(rejection(() => normalizeJob(raw)).message).toMatch(message);
  });

  it('keeps the id of a rejected job when it can be read', () => {
    expect(rejection(() => normalizeJob({ id: 'keep-me', language: 'malbolge', code: '' })).jobId).toBe('keep-me');
    expect(rejection(() => normalizeJob({ id: 5 })).jobId).toBeNull();
  });

  it('rejects jobs over the operator caps, naming each', () => {
    const job = normalizeJob({ id: 'x', language: 'python', code: 'x'.repeat(100), memoryLimitMb: 4096, timeLimitMs: 1 });
    const err = rejection(() => checkCaps(job, { ...DEFAULT_CAPS, maxCodeBytes: 10 }));
    expect(err.message).toMatch(/memoryLimitMb 4096 exceeds the cap 1024/);
    expect(err.message).toMatch(/code bytes 100 exceeds the cap 10/);
    expect(() => checkCaps(normalizeJob({ id: 'y', language: 'c', code: 'int main(){}' }), DEFAULT_CAPS)).not.toThrow();
  });

  it('counts every test case against the stdin and test-case caps', () => {
    const job = normalizeJob({ id: 'x', language: 'python', code: '', testCases: [{ stdin: 'x'.repeat(60) }, { stdin: 'y'.repeat(60) }, {}] });
    expect(job.testCases).toEqual([{ stdin: 'x'.repeat(60), expectedOutput: undefined }, { stdin: 'y'.repeat(60), expectedOutput: undefined }, { stdin: '', expectedOutput: undefined }]);
    const err = rejection(() => checkCaps(job, { ...DEFAULT_CAPS, maxStdinBytes: 100, maxTestCases: 2 }));
    expect(err.message).toMatch(/stdin bytes 120 exceeds the cap 100/);
    expect(err.message).toMatch(/testCases 3 exceeds the cap 2/);
  });

  it('caps command-line arguments one by one and together, and expected output over all cases', () => {
    const one = normalizeJob({ id: 'x', language: 'python', code: '', args: ['a'.repeat(200 * 1024)] });
    expect(rejection(() => checkCaps(one, DEFAULT_CAPS)).message).toMatch(/args\[0\] bytes 204800 exceeds the cap 4096 \(MAX_ARG_BYTES\)/);
    const many = normalizeJob({ id: 'x', language: 'python', code: '', args: Array.from({ length: 20 }, () => 'b'.repeat(4000)) });
    expect(rejection(() => checkCaps(many, DEFAULT_CAPS)).message).toMatch(/args bytes 80000 exceeds the cap 65536 \(MAX_ARGS_BYTES\)/);
    const expected = normalizeJob({ id: 'x', language: 'python', code: '', testCases: [{ expectedOutput: 'x'.repeat(60) }, { expectedOutput: 'y'.repeat(60) }] });
    expect(rejection(() => checkCaps(expected, { ...DEFAULT_CAPS, maxExpectedOutputBytes: 100 })).message).toMatch(/expectedOutput bytes 120 exceeds the cap 100 \(MAX_EXPECTED_OUTPUT_BYTES\)/);
    expect(() => checkCaps(normalizeJob({ id: 'x', language: 'python', code: '', args: ['c'.repeat(4096)] }), DEFAULT_CAPS)).not.toThrow();
  });

  it('rejects a job whose output could pass MAX_RESULT_BYTES, and one whose time at its limits passes MAX_JOB_WALL_TIME_MS', () => {
    const cases = (n: number) => Array.from({ length: n }, () => ({ stdin: '' }));
    const loud = normalizeJob({ id: 'x', language: 'python', code: '', maxOutputBytes: 1 << 20, testCases: cases(8) });
    expect(rejection(() => checkCaps(loud, DEFAULT_CAPS)).message).toMatch(/output bytes \(8 cases × 2 streams × maxOutputBytes 1048576\) 16777216 exceeds the cap 8388608 \(MAX_RESULT_BYTES\)/);
    // 64 cases at the default output cap fit exactly.
    expect(() => checkCaps(normalizeJob({ id: 'x', language: 'python', code: '', testCases: cases(64) }), DEFAULT_CAPS)).not.toThrow();
    const long = normalizeJob({ id: 'x', language: 'python', code: '', wallTimeLimitMs: 60_000, testCases: cases(64) });
    expect(rejection(() => checkCaps(long, DEFAULT_CAPS)).message).toMatch(/total wall time at the limits \(compile and every case, ms\) 3840000 exceeds the cap 600000 \(MAX_JOB_WALL_TIME_MS\)/);
    // A compiled language's compile counts at its own wall limit (2 × CPU + 2 s) and its CPU limit.
    const compiled = normalizeJob({ id: 'x', language: 'c', code: '', compileTimeLimitMs: 4000, timeLimitMs: 1000, wallTimeLimitMs: 2000 });
    expect(rejection(() => checkCaps(compiled, { ...DEFAULT_CAPS, maxJobWallTimeMs: 11_999 })).message).toMatch(/total wall time .* 12000 exceeds/);
    expect(() => checkCaps(compiled, { ...DEFAULT_CAPS, maxJobWallTimeMs: 12_000 })).not.toThrow();
    expect(rejection(() => checkCaps(compiled, { ...DEFAULT_CAPS, maxJobWallTimeMs: 4_999 })).message).toMatch(/total CPU time .* 5000 exceeds/);
  });

  it('checks counts and sizes before the schema, with short messages whatever the job holds', () => {
    const files = Array.from({ length: 300_000 }, () => ({ name: '..', content: '' }));
    const err = rejection(() => parseJob({ id: 'p', language: 'python', code: '1', files }, DEFAULT_CAPS));
    expect(err).toMatchObject({ jobId: 'p', message: 'job over the operator caps: files 300000 exceeds the cap 32 (MAX_FILES)' });
    const keys = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 1]));
    expect(rejection(() => precheckJob({ id: 'q', ...keys }, DEFAULT_CAPS)).message).toMatch(/^invalid job: it has 100001 fields; a job has at most \d+$/);
    expect(rejection(() => precheckJob([1, 2], DEFAULT_CAPS)).message).toBe('invalid job: a job is a JSON object');
    // Within the counts, the schema's own messages are bounded too: a few issues, each cut short.
    const bad = rejection(() => parseJob({ id: 'r', language: 'python', files: Array.from({ length: 32 }, () => ({ name: '.'.repeat(5000), content: 1 })) }, DEFAULT_CAPS));
    expect(bad.message.length).toBeLessThan(1500);
    expect(bad.message).toMatch(/and \d+ more$/);
  });
});
