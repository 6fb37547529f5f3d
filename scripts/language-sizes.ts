// Each language's share of a runner image (the README's language table): the Debian packages its recipe installs
// with everything they depend on, less what the image has for any language (Debian's required packages, bash,
// coreutils and Node.js, which runs the runner), by the sizes dpkg records (Installed-Size), plus its npm packages
// (du). "Alone" is what LANGUAGES=<it> adds to the base; "own" is what leaving it out of the full image saves; the
// rest is shared, and its largest packages are named with how many languages need them (the JDK under Java, Kotlin,
// Scala, Clojure and Groovy). Sizes in MiB, as dpkg's KiB.
//
//   npx tsx scripts/language-sizes.ts [IMAGE]        (default code-runner:latest; prints Markdown rows)
import { execFileSync } from 'node:child_process';
import { addDpkgStatus, packageClosure, type DpkgDatabase } from '../core/languageVersions.js';
import { LANGUAGES } from '../core/languages.js';

const image = process.argv[2] ?? 'code-runner:latest';
const inImage = (...command: string[]) =>
  execFileSync('docker', ['run', '--rm', '--network', 'none', '--entrypoint', command[0], image, ...command.slice(1)], { encoding: 'utf8', maxBuffer: 64 << 20 });

const db: DpkgDatabase = addDpkgStatus({ packages: new Map(), providers: new Map() }, inImage('cat', '/var/lib/dpkg/status'));
const installed = (name: string) => db.packages.get(name)?.state === 'installed';
const baseRoots = [...db.packages].filter(([name, p]) => p.base && installed(name)).map(([name]) => name);
const base = packageClosure(db, [...baseRoots, 'bash', 'coreutils', 'nodejs']);
const kb = (names: Iterable<string>) => [...names].reduce((sum, n) => sum + (db.packages.get(n)?.sizeKb ?? 0), 0);

const npmNames = [...new Set(Object.values(LANGUAGES).flatMap((r) => r.packages.npm ?? []).map((p) => p.replace(/(?<=.)@[^@]*$/, '')))];
const npmKb = new Map<string, number>(npmNames.length === 0 ? [] : inImage('du', '-sk', ...npmNames.map((n) => `/usr/local/lib/node_modules/${n}`))
  .trim().split('\n').map((line) => {
    const [size, path] = line.split('\t');
    return [path.replace('/usr/local/lib/node_modules/', ''), Number(size)] as [string, number];
  }));

/** Each language's packages beyond the base: Debian's, and npm's as `npm:<name>`. */
const own = new Map<string, Set<string>>();
for (const [name, recipe] of Object.entries(LANGUAGES)) {
  const debian = [...packageClosure(db, recipe.packages.debian).keys()].filter((p) => !base.has(p));
  const npm = (recipe.packages.npm ?? []).map((p) => `npm:${p.replace(/(?<=.)@[^@]*$/, '')}`);
  own.set(name, new Set([...debian, ...npm]));
}
const sizeOf = (pkg: string) => (pkg.startsWith('npm:') ? npmKb.get(pkg.slice(4)) ?? 0 : kb([pkg]));
const users = (pkg: string) => [...own].filter(([, pkgs]) => pkgs.has(pkg)).map(([n]) => n);
const mb = (k: number) => (k / 1024 >= 10 ? Math.round(k / 1024).toString() : (k / 1024).toFixed(1));

console.log('| language | alone (MB) | its own (MB) | shared: the largest parts (MB, languages sharing) |');
console.log('|---|---|---|---|');
for (const [name, pkgs] of own) {
  const alone = [...pkgs].reduce((s, p) => s + sizeOf(p), 0);
  const mine = [...pkgs].filter((p) => users(p).length === 1).reduce((s, p) => s + sizeOf(p), 0);
  const largest = [...pkgs].filter((p) => users(p).length > 1 && sizeOf(p) >= 10 * 1024).sort((a, b) => sizeOf(b) - sizeOf(a)).slice(0, 2)
    .map((p) => `${p} (${mb(sizeOf(p))}, ${users(p).length})`);
  console.log(`| ${name} | ${mb(alone)} | ${mb(mine)} | ${largest.join(', ')} |`);
}
const all = new Set([...own.values()].flatMap((s) => [...s]));
const total = [...all].reduce((s, p) => s + sizeOf(p), 0);
console.error(`${image}: base ${mb(kb(base.keys()))} MB (${base.size} packages), every language together ${mb(total)} MB (${all.size} packages)`);
