// Which languages a runner has, and their toolchains' versions, measured by running each recipe's version command
// with the sandbox's PATH: on the host when a process-mode worker (or a sidecar in its host posture) starts, and
// in the runner image when it is built (runner/Dockerfile writes RUNNER_LANGUAGES_FILE with them).
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JOB_ENV } from './judge.js';
import { LANGUAGES, parseVersion } from './languages.js';

/** Language name to the version its toolchain printed: the languages a runner can run. */
export type InstalledLanguages = Record<string, string>;

/** Where the runner image lists its languages (written at build time, read by the docker transport and the sidecar). */
export const RUNNER_LANGUAGES_FILE = '/opt/runner/languages.json';

/** A version command may start a JVM (scalac): generous, but a hung toolchain must not hold a worker's start. */
const VERSION_TIMEOUT_MS = 30_000;
/** Version commands run this many at a time: several JVMs at once would crowd a small machine. */
const PARALLEL = 4;

function versionOutput(command: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(command[0], command.slice(1), { env: { ...JOB_ENV, HOME: '/nonexistent' }, timeout: VERSION_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve(err ? null : `${stdout}\n${stderr}`);
    });
  });
}

/** Measures the named languages (all by default); a language whose version command fails or says no version is absent. */
export async function measureLanguages(names: string[] = Object.keys(LANGUAGES)): Promise<InstalledLanguages> {
  const found: InstalledLanguages = {};
  const queue = names.filter((n) => Object.hasOwn(LANGUAGES, n));
  const next = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const output = await versionOutput(LANGUAGES[name].version.command);
      const version = output === null ? null : parseVersion(LANGUAGES[name], output);
      if (version) found[name] = version;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, next));
  // In registry order, whatever order the commands finished in.
  return Object.fromEntries(Object.keys(LANGUAGES).filter((n) => Object.hasOwn(found, n)).map((n) => [n, found[n]]));
}

/** Where a host's measurement is kept, with what it was measured from; /run goes with a reboot. */
const HOST_CACHE = '/run/code-execution/languages.json';

/** What the host's measurement depends on: every recipe's tool as PATH finds it, and the package database. */
function hostToolchainKey(): string {
  const stamp = (path: string) => {
    try {
      const st = statSync(path);
      return `${path}:${st.size}:${st.mtimeMs}`;
    } catch {
      return null;
    }
  };
  const tools = Object.values(LANGUAGES).map(({ version: { command } }) =>
    JOB_ENV.PATH.split(':').map((dir) => stamp(join(dir, command[0]))).find((s) => s !== null) ?? `${command[0]}:absent`);
  return JSON.stringify([...tools, stamp('/var/lib/dpkg/status'), stamp('/usr/local/lib/node_modules')]);
}

/**
 * The host's languages, as a process-mode worker or a host-posture sidecar runs them. Measured at the first start,
 * then reused by later starts while no toolchain binary and no package changed (workers start often in a deployment
 * and under test, and the version commands cost about 2 s of CPU, JVMs among them).
 */
export async function hostLanguages(): Promise<InstalledLanguages> {
  const key = hostToolchainKey();
  try {
    const cached = JSON.parse(readFileSync(HOST_CACHE, 'utf8')) as { key?: string; languages?: unknown };
    if (cached.key === key) return installedLanguagesOf(cached.languages);
  } catch {
    // Absent, unreadable or stale: measured below.
  }
  const languages = await measureLanguages();
  try {
    mkdirSync(dirname(HOST_CACHE), { recursive: true, mode: 0o755 });
    writeFileSync(`${HOST_CACHE}.${process.pid}`, JSON.stringify({ key, languages }));
    renameSync(`${HOST_CACHE}.${process.pid}`, HOST_CACHE);
  } catch {
    // Not kept: the next start measures again.
  }
  return languages;
}

/** Parses a languages file (RUNNER_LANGUAGES_FILE). */
export function parseInstalledLanguages(text: string): InstalledLanguages {
  return installedLanguagesOf(JSON.parse(text));
}

/** A languages list read from elsewhere (a file, a sidecar's heartbeat); throws on anything but a name-to-version object of known languages. */
export function installedLanguagesOf(parsed: unknown): InstalledLanguages {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('a languages file holds a JSON object');
  for (const [name, version] of Object.entries(parsed)) {
    if (!Object.hasOwn(LANGUAGES, name)) throw new Error(`unknown language "${name}" in the languages file`);
    if (typeof version !== 'string' || !version) throw new Error(`no version for "${name}" in the languages file`);
  }
  return parsed as InstalledLanguages;
}
