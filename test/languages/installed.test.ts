// Which languages a runner has, as users and workers see it: `code-exec languages` (this host, a runner image),
// the versions each result carries, the aliases jobs may use, and the rejection of a language the worker's runner
// lacks (a docker worker on the small image, LANGUAGES=python,c).
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostLanguages } from '../../core/languageVersions.js';
import { LANGUAGES } from '../../core/languages.js';
import { languageListing } from '../../worker/cli/languagesCommand.js';
import { TestQueue, workerStarted } from '../support/jobQueue.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { dockerAvailable, MINIMAL_RUNNER_IMAGE, RUNNER_IMAGE } from '../support/services.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'code-exec.js');
const run = promisify(execFile);
const NAMES = Object.keys(LANGUAGES);
const DOCKER = await dockerAvailable();

async function languagesCli(...args: string[]) {
  const { stdout, stderr } = await run(process.execPath, [CLI, 'languages', ...args], { timeout: 120_000 });
  return { stdout, stderr };
}

let redis: TestRedis;
let queue: TestQueue;
beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await queue?.stopWorkers();
});
afterAll(async () => {
  await redis?.stop();
  await expectNothingLeft();
});

describe('code-exec languages', () => {
  it('lists every language with the version of this host\'s toolchain, as JSON and as a table', async () => {
    const listed = JSON.parse((await languagesCli('--json')).stdout) as { name: string; version: string | null; aliases: string[] }[];
    expect(listed.map((l) => l.name)).toEqual(NAMES);
    expect(listed.filter((l) => l.version !== null).length).toBeGreaterThanOrEqual(25);
    for (const l of listed) expect(l.version, l.name).toMatch(/^\d+(\.\d+)+$/);
    expect(listed.find((l) => l.name === 'cpp')!.aliases).toContain('c++');
    const { stdout, stderr } = await languagesCli();
    expect(stdout.split('\n')[0]).toMatch(/^LANGUAGE +VERSION +KIND +FILE +ALIASES$/);
    expect(stdout).toMatch(/^kotlin +\d+\.\d+\.\d+ +compiled +main\.kt/m);
    expect(stderr).toContain(`${NAMES.length} of ${NAMES.length} languages installed in this host`);
  });

  it('a language the host refuses (dpkg has not finished its packages) is listed without a version, with why', () => {
    const rows = languageListing({ python: '3.11.2' }, (name) => (name === 'haskell' ? 'language "haskell" is not offered: …' : undefined));
    expect(rows.map((r) => r.name)).toEqual(NAMES);
    expect(rows.find((r) => r.name === 'haskell')).toMatchObject({ version: null, refused: 'language "haskell" is not offered: …' });
    expect(rows.find((r) => r.name === 'python')).toMatchObject({ version: '3.11.2' });
    expect(rows.find((r) => r.name === 'python')).not.toHaveProperty('refused');
  });

  it('an image it cannot read is a clear error, exit 2, not a stack trace', async () => {
    const failed = await run(process.execPath, [CLI, 'languages', '--image', 'no-such-image:1'], { timeout: 60_000 }).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toMatch(/^code-exec: cannot read \/opt\/runner\/languages\.json from the image no-such-image:1: .*npm run images\?\)\n$/s);
  });

  describe.runIf(DOCKER)('of a runner image', () => {
    it('the full image: every language, measured when it was built', async () => {
      const { stdout, stderr } = await languagesCli('--json', '--image', RUNNER_IMAGE);
      const listed = JSON.parse(stdout) as { name: string; version: string | null }[];
      expect(listed.map((l) => l.name)).toEqual(NAMES);
      for (const l of listed) expect(l.version, l.name).toMatch(/^\d+(\.\d+)+$/);
      expect(stderr).toContain(`${NAMES.length} of ${NAMES.length} languages installed in the image ${RUNNER_IMAGE}`);
    });

    it('the image built with LANGUAGES=python,c: those two', async () => {
      const listed = JSON.parse((await languagesCli('--json', '--image', MINIMAL_RUNNER_IMAGE)).stdout) as { name: string; version: string | null }[];
      expect(listed.filter((l) => l.version !== null).map((l) => l.name)).toEqual(['python', 'c']);
    });
  });
});

describe('workers', () => {
  it('a process worker stores each result with its toolchain\'s version, and takes aliases', async () => {
    queue = new TestQueue(redis);
    await workerStarted(queue.startWorker('process'));
    const host = await hostLanguages();
    const ids = await Promise.all([
      queue.submit({ language: 'py', code: 'print(1)' }),
      queue.submit({ language: 'c++', code: '#include <cstdio>\nint main() { std::puts("1"); }' }),
      queue.submit({ language: 'TS', code: 'console.log(1)' }),
    ]);
    const [py, cpp, ts] = await Promise.all(ids.map((id) => queue.result(id)));
    expect(py).toMatchObject({ status: 'accepted', stdout: '1\n', language: 'python', languageVersion: host.python });
    expect(cpp).toMatchObject({ status: 'accepted', stdout: '1\n', language: 'cpp', languageVersion: host.cpp });
    expect(ts).toMatchObject({ status: 'accepted', stdout: '1\n', language: 'typescript', languageVersion: host.typescript });
  });

  it.runIf(DOCKER)('a docker worker on the python,c image rejects ruby, saying what it has, and runs python', async () => {
    queue = new TestQueue(redis);
    await workerStarted(queue.startWorker('docker', { RUNNER_IMAGE: MINIMAL_RUNNER_IMAGE }));
    const [ruby, python] = await Promise.all([queue.submit({ language: 'ruby', code: 'puts 1' }), queue.submit({ language: 'python', code: 'print(2)' })]);
    expect(await queue.result(ruby)).toMatchObject({
      status: 'rejected', language: 'ruby', message: 'language "ruby" is not installed in this worker\'s runner (docker); it has python, c',
    });
    const ran = await queue.result(python);
    expect(ran).toMatchObject({ status: 'accepted', stdout: '2\n', runnerMode: 'docker' });
    expect(ran.languageVersion).toMatch(/^3\.\d+\.\d+$/);
  });
});
