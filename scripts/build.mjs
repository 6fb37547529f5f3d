// Builds what runs inside a sandbox: the runner as one self-contained ESM file (no node_modules needed in
// the image or under bubblewrap) and the sandbox-exec launcher, which must be native to drop privileges.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
mkdirSync(out, { recursive: true });

// The runner, and the sidecar daemon that serves it jobs from a shared directory (runner image only).
for (const [entry, file] of [['runner/main.ts', 'runner.js'], ['runner/sidecar/main.ts', 'sidecar.js']]) {
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

// The bundle is ESM; this marks it so wherever dist/ is mounted (bubblewrap binds it alone).
writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');

execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', join(out, 'sandbox-exec'), join(root, 'runner/sandbox/sandbox-exec.c')], {
  stdio: 'inherit',
});
// Identifies the runner code an image was built from (the bundles hold the core/ code the runner uses):
// images.sh labels the image with it.
const hash = createHash('sha256');
for (const file of [join(out, 'runner.js'), join(out, 'sidecar.js'), join(root, 'runner/sandbox/sandbox-exec.c'), join(root, 'runner/Dockerfile')]) hash.update(readFileSync(file));
writeFileSync(join(out, 'runner-hash'), `${hash.digest('hex').slice(0, 16)}\n`);

console.log(JSON.stringify({ msg: 'built', runner: 'dist/runner.js', sidecar: 'dist/sidecar.js', launcher: 'dist/sandbox-exec' }));
