// The layering of the sources, enforced: core/ is imported by everyone and imports nobody; the runner and the
// worker (and the API) never import each other; the Pulumi components import core/ only. Every import and
// export-from specifier, static or dynamic (`import('...')`), of every .ts file under the layers is read with
// TypeScript's own scanner, so comments and strings do not count and nothing is missed.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const LAYERS = ['core', 'runner', 'worker', 'api', 'components'] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import besides itself, node built-ins and npm packages. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  core: [],
  runner: ['core'],
  worker: ['core', 'api'],
  api: ['core', 'worker'],
  components: ['core'],
};

/** The module specifiers a source imports or re-exports from, static or dynamic. */
function specifiersOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every import between files of the repository from a layer's file, as `from -> to` (repository paths). */
function repositoryImports(): string[] {
  return LAYERS.flatMap((layer) =>
    sourceFiles(layer).flatMap((file) =>
      specifiersOf(readFileSync(join(ROOT, file), 'utf8'))
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => `${file} -> ${relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts')}`),
    ),
  );
}

/** The imports that leave a layer for one it may not import (anything outside the layers counts too). */
function crossings(imports: string[]): string[] {
  return imports.filter((edge) => {
    const [from, to] = edge.split(' -> ');
    const source = from.split('/')[0] as Layer;
    const target = to.split('/')[0];
    return target !== source && !MAY_IMPORT[source].includes(target as Layer);
  });
}

describe('import boundaries', () => {
  it('reads static, type-only, re-exported and dynamic imports, and not those in comments or strings', () => {
    const source = [
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "const e = await import('./e.js');",
      "// import f from './f.js';",
      "const g = \"import('./g.js')\";",
    ].join('\n');
    expect(specifiersOf(source)).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js']);
  });

  it('sees the imports of every layer (the scan is not empty)', () => {
    const imports = repositoryImports();
    for (const layer of LAYERS) expect(imports.some((edge) => edge.startsWith(`${layer}/`)), layer).toBe(true);
    expect(imports).toContain('worker/transports/transport.ts -> core/protocol/job.ts');
  });

  it('crosses no boundary', () => {
    expect(crossings(repositoryImports())).toEqual([]);
  });

  it('would see a crossing: a runner file importing the worker is one', () => {
    expect(crossings(['runner/measureLanguages.ts -> worker/transports/processTransport.ts', 'core/judge.ts -> worker/config.ts', 'worker/x.ts -> core/judge.ts'])).toEqual([
      'runner/measureLanguages.ts -> worker/transports/processTransport.ts',
      'core/judge.ts -> worker/config.ts',
    ]);
  });
});
