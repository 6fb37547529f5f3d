// Which languages a runner has, and their toolchains' versions, measured by running each recipe's version command
// with the sandbox's PATH: on the host when a process-mode worker starts, and
// in the runner image when it is built (runner/Dockerfile writes RUNNER_LANGUAGES_FILE with them).
//
// On a host, packages may be changing while a worker starts (apt installing a toolchain): a version command can then
// answer for a toolchain that is half there (a JDK unpacked but clojure.jar's alternative not yet made, GHC before its
// package.cache). So the host's measurement first asks dpkg: it waits while dpkg holds its lock, measures again when
// the package database changed meanwhile, and refuses, with a message, every language one of whose packages (or their
// dependencies) dpkg has not finished installing; refused languages are measured again until they settle.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
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

function versionOutput(command: string[], path: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(command[0], command.slice(1), { env: { ...JOB_ENV, PATH: path, HOME: '/nonexistent' }, timeout: VERSION_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve(err ? null : `${stdout}\n${stderr}`);
    });
  });
}

/**
 * Measures the named languages (all by default); a language whose version command fails or says no version is absent.
 * `path`: where the commands are looked for (the sandbox's PATH unless a test says otherwise).
 */
export async function measureLanguages(names: string[] = Object.keys(LANGUAGES), path = JOB_ENV.PATH): Promise<InstalledLanguages> {
  const found: InstalledLanguages = {};
  const queue = names.filter((n) => Object.hasOwn(LANGUAGES, n));
  const next = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const output = await versionOutput(LANGUAGES[name].version.command, path);
      const version = output === null ? null : parseVersion(LANGUAGES[name], output);
      if (version) found[name] = version;
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, next));
  // In registry order, whatever order the commands finished in.
  return Object.fromEntries(Object.keys(LANGUAGES).filter((n) => Object.hasOwn(found, n)).map((n) => [n, found[n]]));
}

// --- dpkg: is a language's toolchain whole? ---------------------------------------------------------------------------

/** Where a host's packages are, and how long a worker's start waits for dpkg; tests point these elsewhere. */
export interface HostLanguageOptions {
  /** dpkg's database (its --admindir): `status`, the `updates/` journal and the locks. Defaults to /var/lib/dpkg. */
  dpkgDir?: string;
  /** The kernel's list of file locks. Defaults to /proc/locks. */
  procLocks?: string;
  /** Where version commands are looked for. Defaults to the sandbox's PATH. */
  path?: string;
  /** How long to wait for dpkg to finish before refusing what it has not. Defaults to 30 s. */
  settleTimeoutMs?: number;
  /** How often dpkg is asked again, while waiting and after a refusal. Defaults to 1 s while waiting, 10 s after. */
  pollMs?: number;
  recheckMs?: number;
  /** Where the measurement is kept between starts; null: not kept. Defaults to /run/code-execution/languages.json. */
  cacheFile?: string | null;
}

const DPKG_DIR = '/var/lib/dpkg';
const SETTLE_TIMEOUT_MS = 30_000;
const POLL_MS = 1000;
const RECHECK_MS = 10_000;
/** dpkg's states of a package it is in the middle of installing, upgrading or removing (dpkg-query(1)). */
const CHANGING_STATES = new Set(['half-installed', 'unpacked', 'half-configured', 'triggers-awaited', 'triggers-pending']);

export interface DpkgPackage {
  state: string;
  /** Depends and Pre-Depends: each a list of alternatives. */
  depends: string[][];
  /** Installed-Size: KiB. */
  sizeKb: number;
  /** Essential or of priority required: every Debian system has it. */
  base: boolean;
}

export interface DpkgDatabase {
  packages: Map<string, DpkgPackage>;
  /** Virtual package to the packages that provide it. */
  providers: Map<string, string[]>;
}

const packageNames = (field: string | undefined) =>
  (field ?? '').split(',').map((group) => group.split('|').map((alt) => alt.trim().split(/[\s:(]/)[0]).filter(Boolean)).filter((g) => g.length > 0);

/**
 * dpkg's database as it is now: the status file, then the journal of changes dpkg has not yet merged into it
 * (updates/, in order; dpkg writes there first while it works, so an install in progress shows there).
 */
function readDpkgDatabase(dir: string): DpkgDatabase {
  const db: DpkgDatabase = { packages: new Map(), providers: new Map() };
  const read = (file: string) => {
    try {
      addDpkgStatus(db, readFileSync(file, 'utf8'));
    } catch {
      // Unreadable or gone (dpkg merged a journal entry meanwhile): the next look sees it.
    }
  };
  read(join(dir, 'status'));
  let journal: string[] = [];
  try {
    journal = readdirSync(join(dir, 'updates')).filter((f) => /^\d+$/.test(f)).sort();
  } catch {
    // No journal: nothing in progress written there.
  }
  for (const entry of journal) read(join(dir, 'updates', entry));
  return db;
}

/** Parses dpkg status records (the status file's format) into `db`; a later record of a package replaces its earlier one. */
export function addDpkgStatus(db: DpkgDatabase, text: string): DpkgDatabase {
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line)) continue; // a continuation (Description, Conffiles)
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const name = fields.get('Package');
    if (!name) continue;
    const state = (fields.get('Status') ?? '').split(' ')[2] ?? 'not-installed';
    db.packages.set(name, {
      state,
      depends: [...packageNames(fields.get('Pre-Depends')), ...packageNames(fields.get('Depends'))],
      sizeKb: Number(fields.get('Installed-Size') ?? 0) || 0,
      base: fields.get('Essential') === 'yes' || fields.get('Priority') === 'required',
    });
    for (const [provided] of packageNames(fields.get('Provides'))) db.providers.set(provided, [...(db.providers.get(provided) ?? []), name]);
  }
  return db;
}

/** The packages of `roots` and everything they depend on (the alternatives that are on the system), with their states. */
export function packageClosure(db: DpkgDatabase, roots: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  const present = (name: string) => {
    const p = db.packages.get(name);
    return p !== undefined && p.state !== 'not-installed' && p.state !== 'config-files';
  };
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const pkg = db.packages.get(name);
    if (!pkg || !present(name)) {
      // A virtual package: whichever of its providers are on the system.
      for (const provider of db.providers.get(name) ?? []) if (present(provider)) visit(provider);
      return;
    }
    seen.set(name, pkg.state);
    for (const alternatives of pkg.depends) {
      const onSystem = alternatives.flatMap((a) => (present(a) ? [a] : (db.providers.get(a) ?? []).filter(present)));
      for (const a of onSystem) visit(a);
    }
  };
  roots.forEach(visit);
  return seen;
}

/** Whether dpkg (or apt, through its frontend lock) holds its lock now: a lock of /proc/locks on one of the files. */
function dpkgBusy(dir: string, procLocks: string): boolean {
  let locks: string;
  try {
    locks = readFileSync(procLocks, 'utf8');
  } catch {
    return false;
  }
  const held = new Set<string>();
  for (const line of locks.split('\n')) {
    const m = /^\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+\S+\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (m) held.add(`${parseInt(m[1], 16)}:${parseInt(m[2], 16)}:${m[3]}`);
  }
  return ['lock-frontend', 'lock'].some((f) => {
    try {
      const st = statSync(join(dir, f), { bigint: true });
      // glibc's dev_t encoding of the kernel's major and minor numbers.
      const major = ((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn);
      const minor = (st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn);
      return held.has(`${major}:${minor}:${st.ino}`);
    } catch {
      return false;
    }
  });
}

/** What dpkg says now: whether it is at work, and each language with packages it has not finished, and why. */
interface PackageChanges {
  busy: boolean;
  /** Language name to the refusal's message. */
  unfinished: Record<string, string>;
  /** Changes whenever the database does. */
  stamp: string;
}

function packageChanges(opts: HostLanguageOptions): PackageChanges {
  const dir = opts.dpkgDir ?? DPKG_DIR;
  const db = readDpkgDatabase(dir);
  const unfinished: Record<string, string> = {};
  for (const [name, recipe] of Object.entries(LANGUAGES)) {
    const changing = [...packageClosure(db, recipe.packages.debian)].filter(([, state]) => CHANGING_STATES.has(state));
    if (changing.length === 0) continue;
    const which = changing.slice(0, 3).map(([pkg, state]) => `${pkg} is ${state}`).join(', ') + (changing.length > 3 ? `, and ${changing.length - 3} more` : '');
    unfinished[name] = `language "${name}" is not offered: dpkg has not finished installing its toolchain (${which}). `
      + 'Let the package manager finish (or run `dpkg --configure -a` if it was interrupted); the worker measures it again '
      + 'once dpkg is done.';
  }
  return { busy: dpkgBusy(dir, opts.procLocks ?? '/proc/locks'), unfinished, stamp: databaseStamp(dir) };
}

const stamp = (path: string) => {
  try {
    const st = statSync(path);
    return `${path}:${st.size}:${st.mtimeMs}`;
  } catch {
    return null;
  }
};

/** The package database's state: its status file and its journal. */
function databaseStamp(dir: string): string {
  let journal: string[] = [];
  try {
    journal = readdirSync(join(dir, 'updates')).sort();
  } catch {
    // None.
  }
  return JSON.stringify([stamp(join(dir, 'status')), ...journal.map((f) => stamp(join(dir, 'updates', f)))]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The host's languages, and those refused (name to message) because dpkg has not finished their packages. */
export interface HostMeasurement {
  languages: InstalledLanguages;
  refused: Record<string, string>;
}

/**
 * Measures the host's languages once dpkg lets it: waits (up to settleTimeoutMs) while dpkg holds its lock or is
 * half-way through a language's packages, measures, and measures again if the package database changed meanwhile.
 * What dpkg has still not finished by then is refused, not measured.
 */
export async function measureHostLanguages(opts: HostLanguageOptions = {}, names: string[] = Object.keys(LANGUAGES)): Promise<HostMeasurement> {
  const deadline = Date.now() + (opts.settleTimeoutMs ?? SETTLE_TIMEOUT_MS);
  for (;;) {
    const before = packageChanges(opts);
    const waiting = before.busy || names.some((n) => Object.hasOwn(before.unfinished, n));
    if (waiting && Date.now() < deadline) {
      await sleep(opts.pollMs ?? POLL_MS);
      continue;
    }
    const measured = await measureLanguages(names.filter((n) => !Object.hasOwn(before.unfinished, n)), opts.path);
    const after = packageChanges(opts);
    if (after.stamp !== before.stamp && Date.now() < deadline) continue;
    const refused = Object.fromEntries(names.filter((n) => Object.hasOwn(after.unfinished, n) || Object.hasOwn(before.unfinished, n))
      .map((n) => [n, after.unfinished[n] ?? before.unfinished[n]]));
    const languages = Object.fromEntries(Object.entries(measured).filter(([n]) => !Object.hasOwn(refused, n)));
    return { languages, refused };
  }
}

/** Where a host's measurement is kept, with what it was measured from; /run goes with a reboot. */
const HOST_CACHE = '/run/code-execution/languages.json';

/** What the host's measurement depends on: every recipe's tool as PATH finds it, and the package database. */
function hostToolchainKey(opts: HostLanguageOptions): string {
  const path = opts.path ?? JOB_ENV.PATH;
  const tools = Object.values(LANGUAGES).map(({ version: { command } }) =>
    path.split(':').map((dir) => stamp(join(dir, command[0]))).find((s) => s !== null) ?? `${command[0]}:absent`);
  return JSON.stringify([...tools, databaseStamp(opts.dpkgDir ?? DPKG_DIR), stamp('/usr/local/lib/node_modules')]);
}

/** The refusals of the host's last measurement in this process, by language; emptied as they settle. */
const hostRefusals: Record<string, string> = {};

/** Why the host does not offer a language now (dpkg is changing its packages), or undefined. */
export function hostLanguageRefusal(name: string): string | undefined {
  return hostRefusals[name];
}

/**
 * The host's languages, as a process-mode worker runs them. Measured at the first start,
 * then reused by later starts while no toolchain binary and no package changed (workers start often in a deployment
 * and under test, and the version commands cost about 2 s of CPU, JVMs among them).
 *
 * Languages refused because dpkg had not finished their packages (hostLanguageRefusal says why) are asked about again
 * every recheckMs: once dpkg is done with them they are measured and added to the returned object itself, which the
 * worker keeps and looks each job's language up in. Nothing is kept between starts while anything is refused.
 */
export async function hostLanguages(opts: HostLanguageOptions = {}): Promise<InstalledLanguages> {
  const cacheFile = opts.cacheFile === undefined ? HOST_CACHE : opts.cacheFile;
  const key = hostToolchainKey(opts);
  if (cacheFile) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key?: string; languages?: unknown };
      if (cached.key === key && !packageChanges(opts).busy) return installedLanguagesOf(cached.languages);
    } catch {
      // Absent, unreadable or stale: measured below.
    }
  }
  const { languages, refused } = await measureHostLanguages(opts);
  for (const name of Object.keys(hostRefusals)) delete hostRefusals[name];
  Object.assign(hostRefusals, refused);
  if (Object.keys(refused).length > 0) {
    recheckRefused(languages, Object.keys(refused), opts);
  } else if (cacheFile) {
    try {
      mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o755 });
      writeFileSync(`${cacheFile}.${process.pid}`, JSON.stringify({ key: hostToolchainKey(opts), languages }));
      renameSync(`${cacheFile}.${process.pid}`, cacheFile);
    } catch {
      // Not kept: the next start measures again.
    }
  }
  return languages;
}

/** Asks dpkg about the refused languages every recheckMs, measuring and adding each once its packages settle. */
function recheckRefused(languages: InstalledLanguages, refused: string[], opts: HostLanguageOptions): void {
  let pending = refused;
  const timer = setInterval(() => {
    const changes = packageChanges(opts);
    const settled = pending.filter((n) => !Object.hasOwn(changes.unfinished, n));
    if (changes.busy || settled.length === 0) return;
    clearInterval(timer);
    void measureHostLanguages({ ...opts, settleTimeoutMs: 0 }, settled).then((m) => {
      Object.assign(languages, m.languages);
      for (const name of settled) if (!Object.hasOwn(m.refused, name)) delete hostRefusals[name];
      pending = pending.filter((n) => Object.hasOwn(hostRefusals, n));
      if (pending.length > 0) recheckRefused(languages, pending, opts);
    });
  }, opts.recheckMs ?? RECHECK_MS);
  // A worker's check, not a reason to stay alive.
  timer.unref();
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
