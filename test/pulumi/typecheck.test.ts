// `tsc --noEmit` over the whole project, as part of `npm test`: the Pulumi programs are checked against the real
// provider types (@pulumi/aws, gcp, docker, kubernetes, random), which the mocks cannot do.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { ROOT } from './harness.js';

it('tsc --noEmit passes on the whole project', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', ROOT], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  expect(result.error, 'tsc did not finish').toBeUndefined();
  expect(`${result.stdout}${result.stderr}`.trim(), 'tsc reported errors').toBe('');
  expect(result.status).toBe(0);
}, 300_000);
