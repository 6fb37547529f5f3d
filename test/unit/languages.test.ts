// The recipes as data: aliases, versions parsed from what toolchains print, the package lists images and hosts
// install from, and the one-file tar reader the docker transport reads an image's languages file with.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseInstalledLanguages } from '../../core/languageVersions.js';
import { canonicalLanguage, languageOfFile, LANGUAGES, parseVersion } from '../../core/languages.js';
import { normalizeJob } from '../../core/protocol/job.js';
import { firstFileOfTar } from '../../worker/transports/imageFile.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = (...args: string[]) => spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'runner/languagePackages.ts'), ...args], { encoding: 'utf8' });

describe('recipes', () => {
  it('names and aliases resolve to one recipe each, case-insensitively; none is claimed twice', () => {
    expect(['py', 'C++', 'ts', 'golang', 'c#', 'sql', 'rscript', 'kt', 'clang++', 'cl', 'matlab', 'llvm_ir'].map(canonicalLanguage))
      .toEqual(['python', 'cpp', 'typescript', 'go', 'csharp', 'sqlite3', 'r', 'kotlin', 'cpp-clang', 'lisp', 'octave', 'llvm-ir']);
    expect(canonicalLanguage('malbolge')).toBeUndefined();
    const claimed = Object.entries(LANGUAGES).flatMap(([name, r]) => [name, ...r.aliases]);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(normalizeJob({ id: 'a', language: 'Py', code: '' }).language).toBe('python');
  });

  it('the compile step gets the recipe\'s CPU limit unless the job sets its own', () => {
    expect(normalizeJob({ id: 'a', language: 'kotlin', code: '' }).compileTimeLimitMs).toBe(LANGUAGES.kotlin.compileTimeLimitMs);
    expect(normalizeJob({ id: 'a', language: 'kotlin', code: '', compileTimeLimitMs: 5000 }).compileTimeLimitMs).toBe(5000);
  });

  it('extensions tell the language of a file, main.R included', () => {
    expect(['main.R', 'x.exs', 'Main.kt', 'a.f90', 'q.sql', 'p.cob', 'w.rkt'].map(languageOfFile)).toEqual(['r', 'elixir', 'kotlin', 'fortran', 'sqlite3', 'cobol', 'racket']);
  });

  it('versions are read from what toolchains print', () => {
    expect(parseVersion(LANGUAGES.python, 'Python 3.11.2\n')).toBe('3.11.2');
    expect(parseVersion(LANGUAGES.go, 'go version go1.19.8 linux/amd64')).toBe('1.19.8');
    // dpkg's state and version (dpkg-query -W -f '${db:Status-Abbrev}${Version}'): only a package fully installed counts.
    expect(parseVersion(LANGUAGES.kotlin, 'ii 1.3.31+ds1-1')).toBe('1.3.31');
    expect(parseVersion(LANGUAGES.kotlin, 'iU 1.3.31+ds1-1')).toBeNull();
    expect(parseVersion(LANGUAGES.csharp, 'Mono JIT compiler version 6.8.0.105 (Debian 6.8.0.105+dfsg-3.3)')).toBe('6.8.0.105');
    expect(parseVersion(LANGUAGES.ksh, 'Version AJM 93u+m/1.0.4 2022-10-22')).toBe('1.0.4');
    expect(parseVersion(LANGUAGES.raku, 'Welcome to Rakudo™ v2022.12.\nImplementing the Raku® Programming Language v6.d.')).toBe('2022.12');
    expect(parseVersion(LANGUAGES.python, 'command not found')).toBeNull();
  });

  it('a languages file holds known languages with versions, nothing else', () => {
    expect(parseInstalledLanguages('{"python":"3.11.2"}')).toEqual({ python: '3.11.2' });
    expect(() => parseInstalledLanguages('{"malbolge":"3"}')).toThrow(/unknown language "malbolge"/);
    expect(() => parseInstalledLanguages('{"python":""}')).toThrow(/no version/);
    expect(() => parseInstalledLanguages('[]')).toThrow(/JSON object/);
  });
});

describe('language-packages (runner/Dockerfile, install-deps.sh)', () => {
  it('lists the Debian and npm packages of the selected languages', () => {
    expect(packages('debian', 'python,c').stdout.trim()).toBe('gcc libc6-dev python3');
    expect(packages('npm', 'python,c').stdout.trim()).toBe('');
    expect(packages('npm', 'typescript').stdout.trim()).toBe([...LANGUAGES.typescript.packages.npm!].sort().join(' '));
    const all = packages('debian').stdout.trim().split(' ');
    for (const r of Object.values(LANGUAGES)) for (const p of r.packages.debian) expect(all).toContain(p);
  });

  it('refuses an unknown language with the list of known ones', () => {
    const r = packages('debian', 'python,malbolge');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown malbolge; the languages are all or some of python,javascript/);
  });
});

it('reads the one file of a tar archive past a pax header', () => {
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  execFileSync('sh', ['-c', `printf '{"c":"12.2.0"}' > ${dir}/languages.json`]);
  const tar = execFileSync('tar', ['--format=pax', '-C', dir, '-cf', '-', 'languages.json']);
  expect(firstFileOfTar(tar).toString()).toBe('{"c":"12.2.0"}');
  expect(() => firstFileOfTar(Buffer.alloc(1024))).toThrow(/no regular file/);
});
