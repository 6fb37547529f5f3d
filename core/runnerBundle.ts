// Where the built native sandbox programs live on this host (for what runs them outside an image).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/ of this checkout, or the directory of the bundle this code was bundled into (a language script's). */
export const DIST_DIR = existsSync(join(here, 'sandbox-executor')) ? here : join(here, '..', 'dist');
