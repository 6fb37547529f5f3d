// Builds the native sandbox programs (they must be native to create namespaces and drop privileges) and the two
// language scripts runner/Dockerfile runs while it builds the image, as self-contained ESM files.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
mkdirSync(out, { recursive: true });

// Which toolchains to install, and their versions once installed.
const BUNDLES = [
  ['runner/languagePackages.ts', 'language-packages.js'],
  ['runner/measureLanguages.ts', 'measure-languages.js'],
];
for (const [entry, file] of BUNDLES) {
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(out, file),
    bundle: true,
    platform: 'node',
    format: 'esm',
    // Debian bookworm's nodejs (the runner image) is 18.
    target: 'node18',
    logLevel: 'warning',
  });
}

// The bundle is ESM; this marks it so wherever dist/ is copied or mounted.
writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');

// The native programs (the runner image's entrypoint and the process transport's supervisor), by the Makefile
// runner/Dockerfile runs too.
const sandbox = (file) => join(root, 'runner/sandbox', file);
const NATIVE = ['sandbox-executor', 'sandbox-supervisor'];
execFileSync('make', ['--no-print-directory', '-C', join(root, 'runner/sandbox'), `OUT=${out}`], { stdio: ['ignore', 'ignore', 'inherit'] });
// Identifies the runner code an image was built from (the bundles hold the core/ code the language scripts use):
// images.sh labels the image with it.
const hash = createHash('sha256');
const sandboxSources = readdirSync(join(root, 'runner/sandbox')).sort().map(sandbox);
for (const file of [...BUNDLES.map(([, file]) => join(out, file)), ...sandboxSources, join(root, 'runner/Dockerfile')]) hash.update(readFileSync(file));
writeFileSync(join(out, 'runner-hash'), `${hash.digest('hex').slice(0, 16)}\n`);

console.log(JSON.stringify({ msg: 'built', scripts: BUNDLES.map(([, file]) => `dist/${file}`), native: NATIVE.map((p) => `dist/${p}`) }));
