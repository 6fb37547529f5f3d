// The languages the API offers, in each dialect's terms: our registry's names, Judge0's numeric ids, Piston's
// names and aliases (all from the recipes, core/languages.ts), and the toolchain versions the workers measured.
import type { RedisClient } from '../worker/redisConnection.js';
import { LANGUAGES } from '../core/languages.js';
import { LANGUAGE_VERSIONS_KEY } from '../core/keys.js';

export interface LanguageEntry {
  name: string;
  /** As the workers measured it; null before any worker has said. */
  version: string | null;
  sourceFile: string;
  compiled: boolean;
  judge0Ids: number[];
  /** e.g. "Python (3.11.2)", "C++ (GCC 12.2.0)". */
  judge0Name: string;
  pistonName: string;
  /** The version as Piston's semver ranges match it. */
  pistonVersion: string;
  pistonAliases: string[];
  pistonRuntime?: string;
  compileCommand: string[] | null;
  runCommand: string[];
}

/**
 * Piston's clients match versions as semver ranges ("3.x"): three numeric parts, whatever the toolchain prints,
 * without leading zeros (NASM's 2.16.01 is 2.16.1).
 */
function semver(version: string): string {
  const parts = version.split('.').map((p) => /^\d+/.exec(p)?.[0]).filter((p): p is string => p !== undefined).map((p) => String(Number(p)));
  return [...parts, '0', '0', '0'].slice(0, 3).join('.');
}

/**
 * What the workers' runners can run: the languages they published, with the versions they measured (a language no
 * worker has is not offered). Before any worker has said, every recipe, its version unknown: a job waits in the
 * queue for a worker, which runs it or rejects it. Judge0 ids and Piston names come from the recipes.
 */
export async function languageCatalogue(redis: RedisClient): Promise<LanguageEntry[]> {
  const measured = await redis.hgetall(LANGUAGE_VERSIONS_KEY);
  const known = Object.keys(measured).length > 0;
  return Object.keys(LANGUAGES).filter((name) => !known || measured[name]).map((name) => {
    const recipe = LANGUAGES[name];
    const version = measured[name] || null;
    const pistonName = recipe.piston?.name ?? name;
    const toolchain = recipe.judge0?.toolchain ? `${recipe.judge0.toolchain} ` : '';
    return {
      name,
      version,
      sourceFile: recipe.sourceFile,
      compiled: recipe.compile !== undefined,
      judge0Ids: recipe.judge0?.ids ?? [],
      judge0Name: version ? `${recipe.title} (${toolchain}${version})` : recipe.title,
      pistonName,
      pistonVersion: semver(version ?? '0'),
      pistonAliases: [name, ...recipe.aliases].filter((a) => a !== pistonName),
      pistonRuntime: recipe.piston?.runtime,
      compileCommand: recipe.compile ?? null,
      runCommand: recipe.run,
    };
  });
}

export function byJudge0Id(catalogue: LanguageEntry[], id: number): LanguageEntry | undefined {
  return catalogue.find((l) => l.judge0Ids.includes(id));
}
