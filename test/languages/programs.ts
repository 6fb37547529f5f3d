// Every language's example program (examples/languages/<name>/<sourceFile>), which reads what to do from the first
// line of its standard input, and the cases that drive it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LANGUAGES } from '../../core/languages.js';

export const EXAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'languages');

export function exampleProgram(language: string): string {
  return readFileSync(join(EXAMPLES_DIR, language, LANGUAGES[language].sourceFile), 'utf8');
}

export const ECHOED = 'line one\nline two ✓\n';

/** The example's commands, as test cases of one job: each runs in a fresh case of the same compiled program. */
export const CASES = {
  hello: { stdin: 'hello\n', expectedOutput: 'hello world\n' },
  echo: { stdin: `echo\n${ECHOED}`, expectedOutput: ECHOED },
  exit: { stdin: 'exit\n' },
  spin: { stdin: 'spin\n' },
  hog: { stdin: 'hog\n' },
};

/** A line no language's compiler accepts before a program. */
export const NOT_CODE = 'this is not valid code !!!\n';
