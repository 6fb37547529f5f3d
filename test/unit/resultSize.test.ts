import { describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/protocol/result.js';
import { fitResult } from '../../worker/resultSize.js';

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

function resultWith(stdout: string, stderr: string, caseStdout: string): JobResult {
  const c = { status: 'accepted' as const, stdout: caseStdout, stderr: '', exitCode: 0, signal: null, timeMs: 1, wallTimeMs: 1, memoryKb: 1, stdoutTruncated: false, stderrTruncated: false, message: null };
  return {
    ...c, compileOutput: '', id: 'j', language: 'python', runnerMode: 'process', worker: 'w', attempts: 1,
    startedAt: '', finishedAt: '', stdout, stderr, testCases: [c, { ...c, stdout: 'short' }],
  };
}

describe('fitResult (MAX_RESULT_BYTES)', () => {
  // Control bytes (6 bytes each in JSON), quotes and newlines (2), multi-byte text, pairs and lone surrogates.
  const samples = ['\x01', 'a"b\\c\n', '😀x', '\ud800lone', 'é€'];

  it.each(samples)('fits a result of %j text within the cap and says so, never splitting a character', (unit) => {
    const result = resultWith(unit.repeat(20_000), unit.repeat(5_000), unit.repeat(30_000));
    const full = bytes(result);
    for (const cap of [Math.floor(full / 2), 20_000, 1_000]) {
      const fitted = fitResult(result, cap);
      expect(bytes(fitted)).toBeLessThanOrEqual(cap);
      expect(fitted.resultTrimmed).toBe(true);
      // Prefixes of what the program printed, and short texts kept whole while the long ones are cut.
      expect(result.stdout.startsWith(fitted.stdout)).toBe(true);
      expect(result.testCases![0].stdout.startsWith(fitted.testCases![0].stdout)).toBe(true);
      expect(fitted.testCases![1].stdout).toBe('short');
      if (unit === '😀x') expect(fitted.stdout).not.toMatch(/[\ud800-\udbff]$/u);
      // The verdict and the measurements are untouched.
      expect({ ...fitted, stdout: '', stderr: '', testCases: [] }).toEqual({ ...result, stdout: '', stderr: '', testCases: [], resultTrimmed: true });
    }
    expect(result.resultTrimmed).toBeUndefined();
  });

  it('leaves a result within the cap as it is', () => {
    const result = resultWith('hello\n', '', 'hello\n');
    expect(fitResult(result, bytes(result))).toBe(result);
  });
});
