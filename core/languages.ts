// The language registry, as data: one recipe per language. Adding a language is adding an entry here
// (and its toolchain to runner/Dockerfile); nothing else in the pipeline switches on language names.
//
// Placeholders in commands: {entry} the entry file, {entryStem} its name without extension,
// {sources} every file of the job with one of the language's extensions, {memoryMb} the job's memory limit.

export interface LanguageRecipe {
  /** File name used when a job gives `code` instead of `files`. */
  sourceFile: string;
  /** Extensions that identify the language (the CLI infers the language from them). */
  extensions: string[];
  /** Compile command, run once before the program; absent for interpreted languages. */
  compile?: string[];
  /** Run command; the job's `args` are appended. */
  run: string[];
}

// JVMs size their heap from the machine, not the sandbox, unless told. A heap as large as the job's memory
// limit makes a memory-hungry program outgrow the limit (memory_limit_exceeded, by measured RSS) instead of
// dying of OutOfMemoryError well below it, and needs no naive address-space limit. Perf data would be written
// to /tmp for nothing.
const JVM_FLAGS = ['-Xmx{memoryMb}m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:-UsePerfData', '-Xshare:auto'];

export const LANGUAGES: Record<string, LanguageRecipe> = {
  python: { sourceFile: 'main.py', extensions: ['.py'], run: ['python3', '-B', '{entry}'] },
  javascript: { sourceFile: 'main.js', extensions: ['.js', '.cjs'], run: ['node', '{entry}'] },
  bash: { sourceFile: 'main.sh', extensions: ['.sh'], run: ['bash', '{entry}'] },
  c: {
    sourceFile: 'main.c',
    extensions: ['.c'],
    compile: ['gcc', '-O2', '-std=gnu17', '-pipe', '-o', 'main', '{sources}', '-lm'],
    run: ['./main'],
  },
  cpp: {
    sourceFile: 'main.cpp',
    extensions: ['.cpp', '.cc', '.cxx'],
    compile: ['g++', '-O2', '-std=gnu++17', '-pipe', '-o', 'main', '{sources}'],
    run: ['./main'],
  },
  java: {
    sourceFile: 'Main.java',
    extensions: ['.java'],
    compile: ['javac', ...JVM_FLAGS.map((f) => `-J${f}`), '-encoding', 'UTF-8', '{sources}'],
    run: ['java', ...JVM_FLAGS, '-cp', '.', '{entryStem}'],
  },
};

export function languageFor(name: string): LanguageRecipe | undefined {
  return Object.hasOwn(LANGUAGES, name) ? LANGUAGES[name] : undefined;
}

export function languageOfFile(fileName: string): string | undefined {
  const lower = fileName.toLowerCase();
  return Object.keys(LANGUAGES).find((name) => LANGUAGES[name].extensions.some((ext) => lower.endsWith(ext)));
}

export interface CommandContext {
  entry: string;
  sources: string[];
  memoryMb: number;
}

/** Expands a recipe command; {sources} expands to several arguments, the rest in place. */
export function expandCommand(template: string[], ctx: CommandContext): string[] {
  const stem = ctx.entry.replace(/\.[^.]*$/, '');
  return template.flatMap((part) =>
    part === '{sources}'
      ? ctx.sources
      : [part.replaceAll('{entry}', ctx.entry).replaceAll('{entryStem}', stem).replaceAll('{memoryMb}', String(ctx.memoryMb))],
  );
}
