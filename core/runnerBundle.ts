// Where the built runner and the native sandbox programs live on this host (for what runs them outside an image).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/ of this checkout, or the directory of the bundle this code was bundled into (the sidecar's). */
export const DIST_DIR = existsSync(join(here, 'runner.js')) ? here : join(here, '..', 'dist');
