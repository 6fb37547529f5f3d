// A worker that starts while packages change never runs a half-installed toolchain: it waits while dpkg holds its
// lock, refuses (saying why and what to do) a language one of whose packages dpkg has not finished, adds it once dpkg
// has, and measures again when a toolchain disappears. dpkg's database is a copy in a temporary directory, changed
// by the test as an install in progress changes it; the host's packages are never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostLanguageRefusal, hostLanguages, measureHostLanguages } from '../../core/languageVersions.js';
import { until } from '../support/until.js';

const HOST_STATUS = readFileSync('/var/lib/dpkg/status', 'utf8');

/** The host's dpkg status with one package's state changed, as dpkg writes it while it works. */
function statusWith(text: string, pkg: string, state: string): string {
  const stanza = new RegExp(`^(Package: ${pkg}\\n(?:.+\\n)*?Status: install ok )\\S+$`, 'm');
  expect(stanza.test(text), `${pkg} is installed on this host`).toBe(true);
  return text.replace(stanza, `$1${state}`);
}

let dir: string;
let holder: ChildProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dpkg-'));
  mkdirSync(join(dir, 'updates'));
  writeFileSync(join(dir, 'status'), HOST_STATUS);
  writeFileSync(join(dir, 'lock-frontend'), '');
  writeFileSync(join(dir, 'lock'), '');
});
afterEach(() => {
  holder?.kill();
  holder = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Holds dpkg's frontend lock as apt does (a POSIX lock, fcntl), until released. */
async function holdLock(): Promise<() => void> {
  const script = 'import fcntl, sys\nf = open(sys.argv[1], "w")\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint("locked", flush=True)\nsys.stdin.read()';
  holder = spawn('python3', ['-c', script, join(dir, 'lock-frontend')], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder!.stdout!.once('data', () => resolve());
    holder!.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return () => holder?.stdin?.end();
}

describe('a host whose packages are changing', () => {
  it('refuses a language whose package dpkg has not finished, saying why and what to do, and measures the others', async () => {
    writeFileSync(join(dir, 'status'), statusWith(HOST_STATUS, 'ghc', 'half-configured'));
    const m = await measureHostLanguages({ dpkgDir: dir, settleTimeoutMs: 0 }, ['haskell', 'python']);
    expect(Object.keys(m.languages)).toEqual(['python']);
    expect(m.refused.haskell).toBe('language "haskell" is not offered: dpkg has not finished installing its toolchain (ghc is half-configured). '
      + 'Let the package manager finish (or run `dpkg --configure -a` if it was interrupted); the worker measures it again once dpkg is done.');
  });

  it("reads dpkg's journal of changes in progress, and a dependency's state counts (the JDK under every JVM language)", async () => {
    const jre = /^Package: openjdk-17-jre-headless\n(?:.+\n)*?(?=\n|$)/m.exec(HOST_STATUS)![0];
    writeFileSync(join(dir, 'updates', '0000'), statusWith(jre, 'openjdk-17-jre-headless', 'unpacked'));
    const m = await measureHostLanguages({ dpkgDir: dir, settleTimeoutMs: 0 }, ['java', 'kotlin', 'clojure', 'python']);
    expect(Object.keys(m.languages)).toEqual(['python']);
    expect(Object.keys(m.refused)).toEqual(['java', 'kotlin', 'clojure']);
    expect(m.refused.clojure).toContain('openjdk-17-jre-headless is unpacked');
  });

  it('waits while dpkg holds its lock (apt at work, no package of the language touched yet), then measures', async () => {
    const release = await holdLock();
    const started = Date.now();
    const released = new Promise<void>((resolve) => setTimeout(() => resolve(release()), 1500));
    const m = await measureHostLanguages({ dpkgDir: dir, settleTimeoutMs: 20_000, pollMs: 100 }, ['python']);
    await released;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(m).toEqual({ languages: { python: expect.stringMatching(/^3\./) }, refused: {} });
  });

  it('waits while dpkg is half-way through a package, then measures what dpkg finished', async () => {
    writeFileSync(join(dir, 'status'), statusWith(HOST_STATUS, 'ghc', 'half-configured'));
    const release = await holdLock();
    const started = Date.now();
    // dpkg finishes 1.5 s later: the package configured, then the lock let go.
    const finishing = new Promise<void>((resolve) => setTimeout(() => {
      writeFileSync(join(dir, 'status'), HOST_STATUS);
      release();
      resolve();
    }, 1500));
    const m = await measureHostLanguages({ dpkgDir: dir, settleTimeoutMs: 20_000, pollMs: 100 }, ['haskell']);
    await finishing;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(m).toEqual({ languages: { haskell: expect.stringMatching(/^\d+(\.\d+)+$/) }, refused: {} });
  });

  it("refuses at the wait's end what dpkg, still at work, has not finished", async () => {
    writeFileSync(join(dir, 'status'), statusWith(HOST_STATUS, 'ghc', 'unpacked'));
    await holdLock();
    const started = Date.now();
    const m = await measureHostLanguages({ dpkgDir: dir, settleTimeoutMs: 500, pollMs: 100 }, ['haskell', 'python']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(Object.keys(m.languages)).toEqual(['python']);
    expect(m.refused.haskell).toContain('ghc is unpacked');
  });

  it("a worker's set gains a refused language once dpkg has finished it", async () => {
    writeFileSync(join(dir, 'status'), statusWith(HOST_STATUS, 'ghc', 'triggers-pending'));
    const installed = await hostLanguages({ dpkgDir: dir, cacheFile: null, settleTimeoutMs: 0, recheckMs: 100 });
    expect(installed.haskell).toBeUndefined();
    expect(installed.python).toMatch(/^3\./);
    expect(hostLanguageRefusal('haskell')).toContain('ghc is triggers-pending');
    writeFileSync(join(dir, 'status'), HOST_STATUS);
    // The same object the worker keeps and looks each job's language up in.
    await until('haskell measured after dpkg finished', () => installed.haskell, 60_000);
    expect(installed.haskell).toMatch(/^\d+(\.\d+)+$/);
    expect(hostLanguageRefusal('haskell')).toBeUndefined();
  });

  it('measures again when a toolchain disappears, instead of reusing the kept measurement', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'lua5.4'), '#!/bin/sh\necho "Lua 5.4.99  Copyright (C) 1994-2022 Lua.org, PUC-Rio"\n');
    chmodSync(join(bin, 'lua5.4'), 0o755);
    const opts = { dpkgDir: dir, path: bin, cacheFile: join(dir, 'languages.json'), settleTimeoutMs: 0 };
    expect(await hostLanguages(opts)).toEqual({ lua: '5.4.99' });
    expect(JSON.parse(readFileSync(opts.cacheFile, 'utf8')).languages).toEqual({ lua: '5.4.99' });
    rmSync(join(bin, 'lua5.4'));
    expect(await hostLanguages(opts)).toEqual({});
  });
});
