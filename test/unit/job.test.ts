import { describe, expect, it } from 'vitest';
import { checkCaps, JobRejected, normalizeJob } from '../../runner/protocol/job.js';
import { DEFAULT_CAPS, defaultWallTimeMs } from '../../runner/protocol/limits.js';

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
    [{ id: 'x', language: 'cobol', code: '' }, /unknown language "cobol"/],
    [{ id: 'x', language: 'python', code: '', testCases: [] }, /testCases/],
    [{ id: 'x', language: 'python', code: '', stdin: '1', testCases: [{ stdin: '1' }] }, /per case, not at the top level/],
    [{ id: 'x', language: 'python', code: '', testCases: [{ input: '1' }] }, /input|Unrecognized/],
  ])('rejects %j with a message', (raw, message) => {
    expect(rejection(() => normalizeJob(raw)).message).toMatch(message);
  });

  it('keeps the id of a rejected job when it can be read', () => {
    expect(rejection(() => normalizeJob({ id: 'keep-me', language: 'cobol', code: '' })).jobId).toBe('keep-me');
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
});
