// Every language of core/languages.ts through the compatible APIs, with the programs their users write
// (test/api/languagePrograms.ts): Piston's POST /api/v2/execute as piston-client sends it (one file without a
// name, no limits: the API's defaults) and with the file named as Piston's own package tests name theirs
// (`test.java` holding `public class HelloWorld`, `test.scala` an `object HelloWorld extends App`, …), and Judge0's
// POST /submissions?wait=true under each of the language's Judge0 ids. Real workers (process mode) run them; each
// answer must be the program's `hello <line>` and a clean exit.
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../core/languages.js';
import { apiSuite, call, type RunningApi } from './apiHarness.js';
import { PROGRAMS, STDIN, STDOUT } from './languagePrograms.js';

const suite = apiSuite();

/**
 * Jobs in flight at once: one per core. Piston's default run_timeout (3 s of wall) is what its users get, and a JVM
 * or Racket start sharing a core with three others could spend it waiting for the CPU.
 */
const IN_FLIGHT = 2;
/** The slowest to compile or start first, so that they do not make the tail. */
const SLOW_FIRST = ['kotlin', 'scala', 'groovy', 'crystal', 'haskell', 'java', 'clojure', 'typescript', 'octave', 'racket', 'raku', 'rust', 'nim', 'ada'];

interface Attempt {
  name: string;
  /** Which API, and how it was called. */
  api: string;
  run: () => Promise<string | null>;
}

const clip = (s: unknown) => (typeof s === 'string' && s.length > 600 ? `${s.slice(0, 600)}…` : s);

type Runtime = { language: string; version: string; aliases: string[]; runtime?: string };

/**
 * The runtime /api/v2/runtimes lists for a recipe: its Piston name and runtime (two are "prolog"), and our name
 * among its aliases when they differ.
 */
function runtimeOf(runtimes: Runtime[], name: string): Runtime | undefined {
  const piston = LANGUAGES[name].piston;
  const pistonName = piston?.name ?? name;
  return runtimes.find((r) => r.language === pistonName && r.runtime === piston?.runtime && (pistonName === name || r.aliases.includes(name)));
}

/** Piston through piston-client (a file without a name), or with the file named `fileName`. */
function pistonAttempt(api: RunningApi, runtimes: Runtime[], name: string, fileName?: string): Attempt {
  const program = PROGRAMS[name];
  const runtime = runtimeOf(runtimes, name);
  const language = program.pistonLanguage ?? LANGUAGES[name].piston?.name ?? name;
  const file = fileName ? { name: fileName, content: program.piston } : { content: program.piston };
  return {
    name, api: fileName ? `piston ${fileName}` : 'piston',
    async run() {
      if (!runtime) return 'not listed by /api/v2/runtimes';
      const res = await call(`${api.url}/api/v2/execute`, { method: 'POST', json: { language, version: '*', files: [file], stdin: STDIN } });
      const b = res.body;
      const ok = res.status === 200 && b?.version === runtime.version && (b?.compile === undefined || b.compile.code === 0)
        && b?.run?.stdout === STDOUT && b?.run?.code === 0 && b?.run?.status === null;
      if (ok) return null;
      return JSON.stringify({
        status: res.status, version: b?.version, expectedVersion: runtime.version, message: b?.message,
        compile: b?.compile && { code: b.compile.code, status: b.compile.status, message: b.compile.message, output: clip(b.compile.output) },
        run: b?.run && { stdout: clip(b.run.stdout), stderr: clip(b.run.stderr), code: b.run.code, signal: b.run.signal, status: b.run.status, message: b.run.message, cpu_time: b.run.cpu_time, wall_time: b.run.wall_time },
      });
    },
  };
}

function judge0Attempt(api: RunningApi, name: string, id: number): Attempt {
  const program = PROGRAMS[name];
  return {
    name: `${name} (${id})`, api: 'judge0',
    async run() {
      const res = await call(`${api.url}/submissions?base64_encoded=false&wait=true`, {
        method: 'POST', json: { source_code: program.judge0 ?? program.piston, language_id: id, stdin: STDIN },
      });
      const b = res.body;
      if (res.status === 201 && b?.status?.id === 3 && b?.stdout === STDOUT) return null;
      return JSON.stringify({
        language_id: id, status: res.status, verdict: b?.status, stdout: clip(b?.stdout), stderr: clip(b?.stderr),
        compile_output: clip(b?.compile_output), message: b?.message, time: b?.time, errors: res.status === 201 ? undefined : b,
      });
    },
  };
}

/** Runs the attempts IN_FLIGHT at a time; each one's failure, or nothing. */
async function runAll(attempts: Attempt[]): Promise<{ failures: string[]; seconds: Record<string, number> }> {
  const failures: string[] = [];
  const seconds: Record<string, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < attempts.length) {
      const a = attempts[next++];
      const started = Date.now();
      const failure = await a.run().catch((err: Error) => `threw ${err.message}`);
      seconds[`${a.name} ${a.api}`] = (Date.now() - started) / 1000;
      if (failure) failures.push(`${a.name} through ${a.api}: ${failure}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return { failures: failures.sort(), seconds };
}

describe('every language through the Piston and Judge0 APIs', () => {
  it('has a program for every recipe, and none for a recipe that is gone', () => {
    const recipes = Object.keys(LANGUAGES);
    expect(recipes.filter((n) => !Object.hasOwn(PROGRAMS, n))).toEqual([]);
    expect(Object.keys(PROGRAMS).filter((n) => !Object.hasOwn(LANGUAGES, n))).toEqual([]);
    // A program for Judge0 alone is for a language Judge0 has.
    expect(recipes.filter((n) => PROGRAMS[n]?.judge0 !== undefined && !LANGUAGES[n].judge0)).toEqual([]);
  });

  it("runs each language's program, as its users write it, through both APIs", async () => {
    const api = await suite.start({ workers: 2 });
    const runtimes = (await call(`${api.url}/api/v2/runtimes`)).body as Runtime[];
    const names = Object.keys(LANGUAGES).sort((a, b) => {
      const rank = (n: string) => (SLOW_FIRST.includes(n) ? SLOW_FIRST.indexOf(n) : SLOW_FIRST.length);
      return rank(a) - rank(b);
    });
    const attempts = names.flatMap((name) => [
      pistonAttempt(api, runtimes, name),
      pistonAttempt(api, runtimes, name, `test${LANGUAGES[name].extensions[0]}`),
      ...(LANGUAGES[name].judge0?.ids ?? []).map((id) => judge0Attempt(api, name, id)),
    ]);
    const { failures, seconds } = await runAll(attempts);
    const slowest = Object.entries(seconds).sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, s]) => `${k} ${s.toFixed(1)} s`);
    console.info(`${attempts.length} runs; slowest answers: ${slowest.join(', ')}`);
    expect(failures).toEqual([]);
  }, 420_000);
});
