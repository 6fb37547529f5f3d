// Where the built runner lives on this host (for transports that run it outside an image).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/ of this checkout, or the directory of the bundle this code was bundled into (the sidecar's). */
export const DIST_DIR = existsSync(join(here, 'runner.js')) ? here : join(here, '..', '..', 'dist');

/** Throws with the command to run when `npm run build` has not produced the runner yet. */
export function requireRunnerBundle(): string {
  for (const file of ['runner.js', 'sandbox-exec', 'package.json']) {
    if (!existsSync(join(DIST_DIR, file))) {
      throw new Error(`runner bundle missing (${join(DIST_DIR, file)}): run \`npm run build\` first`);
    }
  }
  return DIST_DIR;
}
