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
});
