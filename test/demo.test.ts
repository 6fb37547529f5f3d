// The README's first command: `npm run demo` ends in `code-exec demo`, which must work with nothing but
// this machine (a private Redis, auto runner mode) and give every example its expected verdict.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { expectNothingLeft } from './support/leftovers.js';
import { testWorkerName } from './support/sandboxClaims.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'code-exec.js');

it('code-exec demo runs every example to its expected verdict', async () => {
  // The demo picks its own queue (so its deployment): its sandboxes are told by their owner, this worker name.
  const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', WORKER_NAME: testWorkerName('demo') };
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'demo'], { env, timeout: 180_000 });
  expect(stdout).toContain('every example got its expected verdict');
  for (const status of ['accepted', 'time_limit_exceeded', 'memory_limit_exceeded', 'compile_error']) expect(stdout).toContain(`✓ ${status}`);
  expect(stdout).not.toContain('✗');
  await expectNothingLeft();
}, 200_000);
