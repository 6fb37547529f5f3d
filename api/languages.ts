// The languages the API offers, in each dialect's terms: our registry's names (core/languages.ts), Judge0's
// numeric ids, Piston's names and aliases, and the toolchain versions the workers measured at start.
import type { RedisClient } from '../worker/redisConnection.js';
import { LANGUAGES } from '../core/languages.js';
import { LANGUAGE_VERSIONS_KEY } from '../core/keys.js';

interface Dialects {
  /** Judge0's display name without the version, e.g. "Python" for "Python (3.8.1)". */
  judge0Name: string;
  /** How Judge0 names the toolchain in the parentheses ("GCC 12.2.0"); the version is appended. */
  judge0Toolchain: string;
  /** Judge0 CE 1.13.1 ids for this language; the first is its primary id. */
  judge0Ids: number[];
  pistonName: string;
  pistonAliases: string[];
  /** Piston's `runtime` field, for runtimes that serve several languages. */
  pistonRuntime?: string;
}

const DIALECTS: Record<string, Dialects> = {
  python: { judge0Name: 'Python', judge0Toolchain: '', judge0Ids: [71], pistonName: 'python', pistonAliases: ['py', 'py3', 'python3'] },
  javascript: {
    judge0Name: 'JavaScript', judge0Toolchain: 'Node.js ', judge0Ids: [63], pistonName: 'javascript',
    pistonAliases: ['node-javascript', 'node-js', 'js', 'node'], pistonRuntime: 'node',
  },
  bash: { judge0Name: 'Bash', judge0Toolchain: '', judge0Ids: [46], pistonName: 'bash', pistonAliases: ['sh'] },
  c: { judge0Name: 'C', judge0Toolchain: 'GCC ', judge0Ids: [50, 48, 49], pistonName: 'c', pistonAliases: ['gcc'], pistonRuntime: 'gcc' },
  cpp: { judge0Name: 'C++', judge0Toolchain: 'GCC ', judge0Ids: [54, 52, 53], pistonName: 'c++', pistonAliases: ['cpp', 'g++'], pistonRuntime: 'gcc' },
  java: { judge0Name: 'Java', judge0Toolchain: 'OpenJDK ', judge0Ids: [62], pistonName: 'java', pistonAliases: [] },
};

/**
 * Versions of the runner image's Debian 12 toolchains, shown until a worker has said what it measured (a
 * worker in `process` mode runs the host's toolchains and publishes their versions at start).
 */
export const FALLBACK_VERSIONS: Record<string, string> = {
  python: '3.11.2',
  javascript: '18.19.0',
  bash: '5.2.15',
  c: '12.2.0',
  cpp: '12.2.0',
  java: '17.0.15',
};

export interface LanguageEntry {
  name: string;
  version: string;
  sourceFile: string;
  compiled: boolean;
  judge0Ids: number[];
  /** e.g. "Python (3.11.2)", "C++ (GCC 12.2.0)". */
  judge0Name: string;
  pistonName: string;
  pistonAliases: string[];
  pistonRuntime?: string;
  compileCommand: string[] | null;
  runCommand: string[];
}

const registryNames = Object.keys(LANGUAGES).filter((n) => Object.hasOwn(DIALECTS, n));

/** A language of the registry has no dialect names yet: it is served natively and left out of Judge0/Piston. */
export async function languageCatalogue(redis: RedisClient): Promise<LanguageEntry[]> {
  const measured = await redis.hgetall(LANGUAGE_VERSIONS_KEY);
  return registryNames.map((name) => {
    const recipe = LANGUAGES[name];
    const d = DIALECTS[name];
    const version = measured[name] || FALLBACK_VERSIONS[name] || '0.0.0';
    return {
      name,
      version,
      sourceFile: recipe.sourceFile,
      compiled: recipe.compile !== undefined,
      judge0Ids: d.judge0Ids,
      judge0Name: `${d.judge0Name} (${d.judge0Toolchain}${version})`,
      pistonName: d.pistonName,
      pistonAliases: d.pistonAliases,
      pistonRuntime: d.pistonRuntime,
      compileCommand: recipe.compile ?? null,
      runCommand: recipe.run,
    };
  });
}

export function byJudge0Id(catalogue: LanguageEntry[], id: number): LanguageEntry | undefined {
  return catalogue.find((l) => l.judge0Ids.includes(id));
}

export function byPistonName(catalogue: LanguageEntry[], name: string): LanguageEntry | undefined {
  return catalogue.find((l) => l.pistonName === name || l.pistonAliases.includes(name) || l.name === name);
}
