// Every language of the registry, through its example program: on the process transport (the embedded default)
// hello world, stdin echoed, a runtime error with its exit code, the CPU time limit, the memory limit, and for
// compiled languages a compile error with the compiler's message; on the docker transport hello world and the
// memory limit. A recipe without an example program fails here: adding a language is a recipe and its example.
//
// One job per language carries hello, echo, exit and spin as test cases (one compile, four fresh cases) at the
// default limits, which JVM and BEAM languages must fit; the memory hog runs under limits of its own (HOG_LIMITS).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../core/languages.js';
import { DEFAULT_LIMITS } from '../../core/protocol/limits.js';
import { normalizeJob } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { DockerTransport } from '../../worker/transports/dockerTransport.js';
import { ProcessTransport } from '../../worker/transports/processTransport.js';
import { POOLED_SANDBOX_SIZE } from '../../worker/transports/transport.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { testOwner } from '../support/sandboxClaims.js';
import { dockerAvailable, DOCKER_SOCKET, RUNNER_IMAGE } from '../support/services.js';
import { CASES, ECHOED, EXAMPLES_DIR, exampleProgram, NOT_CODE } from './programs.js';

const NAMES = Object.keys(LANGUAGES);
const owner = testOwner('languages-test');
let seq = 0;
/**
 * The memory hog under its own limits: a CPU limit it cannot reach first (some runtimes fill memory at 150 MB/s,
 * and the kernel stops a job at its limit plus the sandbox's overhead), and a smaller memory limit to fill.
 */
const HOG_LIMITS = { memoryLimitMb: 128, timeLimitMs: 10_000 };
const outcomeDetail = (r: RunOutcome) =>
  JSON.stringify({ status: r.status, message: r.message, compileOutput: r.compileOutput, cases: r.testCases?.map((c) => ({ ...c, stdout: c.stdout.slice(0, 200), stderr: c.stderr.slice(0, 300) })) });
const job = (language: string, extra: Record<string, unknown>) => normalizeJob({ id: `lang-${++seq}`, language, code: exampleProgram(language), ...extra });

it('every recipe has an example program, and every example a recipe', () => {
  for (const name of NAMES) expect(existsSync(join(EXAMPLES_DIR, name, LANGUAGES[name].sourceFile)), `examples/languages/${name}/${LANGUAGES[name].sourceFile}`).toBe(true);
  expect(readdirSync(EXAMPLES_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()).toEqual([...NAMES].sort());
  expect(NAMES.length).toBeGreaterThanOrEqual(25);
});

describe('process transport', () => {
  const POOL = 2;
  let transport: ProcessTransport;
  beforeAll(() => {
    transport = new ProcessTransport(owner, { poolSize: POOL, poolLimits: POOLED_SANDBOX_SIZE });
  });
  afterAll(async () => {
    await transport.close();
    await expectNothingLeft();
  });

  it('has every language installed, each with the version its toolchain reports', async () => {
    const installed = await transport.languages();
    expect(Object.keys(installed)).toEqual(NAMES);
    for (const version of Object.values(installed)) expect(version).toMatch(/^\d+(\.\d+)+$/);
  });

  describe.each(NAMES)('%s', (language) => {
    it('hello, stdin echoed, exit 3 and the CPU limit, each a case of one job at the default limits', async () => {
      const r = await transport.run(job(language, { testCases: [CASES.hello, CASES.echo, CASES.exit, CASES.spin] }));
      const [hello, echo, exit, spin] = r.testCases!;
      const detail = outcomeDetail(r);
      expect(hello, detail).toMatchObject({ status: 'accepted', stdout: 'hello world\n', exitCode: 0 });
      expect(echo, detail).toMatchObject({ status: 'accepted', stdout: ECHOED });
      expect(exit, detail).toMatchObject({ status: 'runtime_error', exitCode: 3 });
      expect(spin.status, detail).toBe('time_limit_exceeded');
      expect(spin.timeMs, detail).toBeGreaterThanOrEqual(DEFAULT_LIMITS.timeLimitMs * 0.9);
      expect(r.compilations).toBe(LANGUAGES[language].compile ? 1 : 0);
    });

    it('the memory limit', async () => {
      const r = await transport.run(job(language, { ...HOG_LIMITS, testCases: [CASES.hog] }));
      expect(r.status, outcomeDetail(r)).toBe('memory_limit_exceeded');
      expect(r.memoryKb, outcomeDetail(r)).toBeGreaterThan(HOG_LIMITS.memoryLimitMb * 1024);
    });
  });

  describe.each(NAMES.filter((n) => LANGUAGES[n].compile))('%s', (language) => {
    it('a compile error is compile_error with the compiler\'s message', async () => {
      const r = await transport.run(normalizeJob({ id: `lang-${++seq}`, language, code: NOT_CODE + exampleProgram(language) }));
      expect(r.status, r.compileOutput).toBe('compile_error');
      // Every compiler names the file and the place it stopped at.
      expect(r.compileOutput).toContain(LANGUAGES[language].sourceFile);
      expect(r.testCases ?? []).toEqual([]);
    });
  });
});

describe.runIf(await dockerAvailable())('docker transport', () => {
  let transport: DockerTransport;
  beforeAll(() => {
    transport = new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, ...owner, poolSize: 2, poolLimits: POOLED_SANDBOX_SIZE });
  });
  afterAll(async () => {
    await transport.close();
    await expectNothingLeft();
  });

  it('the image has every language, with the versions measured when it was built', async () => {
    const installed = await transport.languages();
    expect(Object.keys(installed)).toEqual(NAMES);
    for (const version of Object.values(installed)) expect(version).toMatch(/^\d+(\.\d+)+$/);
  });

  describe.each(NAMES)('%s', (language) => {
    it('hello world and the memory limit', async () => {
      const r: RunOutcome = await transport.run(job(language, { ...HOG_LIMITS, testCases: [CASES.hello, CASES.hog] }));
      const [hello, hog] = r.testCases!;
      expect(hello, outcomeDetail(r)).toMatchObject({ status: 'accepted', stdout: 'hello world\n' });
      expect(hog.status, outcomeDetail(r)).toBe('memory_limit_exceeded');
    });
  });
});
