// The runner reads its job from --job-file when a transport mounts it there (kubernetes) instead of stdin.
// No sandbox runs here: a missing launcher (or, not as root, the uid check) stops the runner right after it
// has read and validated the job. The runner runs only in a job container (a read-only root: runner/jobContainer.ts),
// so it runs here in a mount namespace of its own whose root is read-only, which is what its check looks at.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'runner-job-file-'));
const AFTER_VALIDATION = /sandbox launcher missing|must start as uid 0/;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runner(args: string[], stdin: string): { status: string; message: string | null } {
  const readOnlyRoot = 'mount --bind / / && mount -o remount,bind,ro / && exec "$@"';
  const out = execFileSync('unshare', ['--mount', 'sh', '-c', readOnlyRoot, 'sh', process.execPath, '--import', 'tsx', 'runner/main.ts', ...args], {
    input: stdin,
    encoding: 'utf8',
    env: { ...process.env, SANDBOX_EXEC: join(dir, 'no-launcher') },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('runner --job-file', () => {
  it('reads the job from the file, not from stdin', () => {
    const file = join(dir, 'job.json');
    writeFileSync(file, JSON.stringify({ id: 'from-file', language: 'python', code: 'print(1)' }));
    // A valid job gets as far as the launcher check; stdin (not JSON) was never read.
    const r = runner(['--job-file', file], 'not json');
    expect(r.status).toBe('internal_error');
    expect(r.message).toMatch(AFTER_VALIDATION);
  });

  it('a file that is not a job is rejected with the reason', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ id: 'bad', language: 'malbolge', code: '' }));
    expect(runner(['--job-file', file], '')).toMatchObject({ status: 'rejected', message: expect.stringMatching(/unknown language "malbolge"/) });
  });

  it('without --job-file the job still comes from stdin', () => {
    const r = runner([], JSON.stringify({ id: 'stdin', language: 'python', code: 'print(1)' }));
    expect(r).toMatchObject({ status: 'internal_error', message: expect.stringMatching(AFTER_VALIDATION) });
  });
});
