// Where the built runner lives on this host (for transports that run it outside an image).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

/** Throws with the command to run when `npm run build` has not produced the runner yet. */
export function requireRunnerBundle(): string {
  for (const file of ['runner.js', 'sandbox-exec', 'package.json']) {
    if (!existsSync(join(DIST_DIR, file))) {
      throw new Error(`runner bundle missing (${join(DIST_DIR, file)}): run \`npm run build\` first`);
    }
  }
  return DIST_DIR;
}
