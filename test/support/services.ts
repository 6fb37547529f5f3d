// Which real services this run has. Under CI every one must be there: a missing one fails the suite
// instead of skipping it. Outside CI a missing Docker engine skips Docker tests, loudly.
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_DIR } from '../../core/runnerBundle.js';
import { availableOrSkip } from './serviceCheck.js';

/** The runner image built from this checkout's dist/ (images.sh tags it with dist/runner-hash). */
export const RUNNER_IMAGE = process.env.RUNNER_IMAGE ?? `code-runner:${readFileSync(join(DIST_DIR, 'runner-hash'), 'utf8').trim()}`;
/** The small runner image (images.sh: LANGUAGES=python,c) built from the same dist/. */
export const MINIMAL_RUNNER_IMAGE = process.env.MINIMAL_RUNNER_IMAGE ?? `code-runner-minimal:${readFileSync(join(DIST_DIR, 'runner-hash'), 'utf8').trim()}`;
export const DOCKER_SOCKET = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';

async function dockerProblem(): Promise<string | null> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  try {
    await docker.ping();
  } catch {
    return `no Docker engine on ${DOCKER_SOCKET} (start it: bash scripts/start-docker.sh)`;
  }
  let labels: Record<string, string> | undefined;
  try {
    labels = (await docker.getImage(RUNNER_IMAGE).inspect()).Config.Labels ?? undefined;
  } catch {
    return `runner image ${RUNNER_IMAGE} missing (build it: npm run images)`;
  }
  const built = readFileSync(join(DIST_DIR, 'runner-hash'), 'utf8').trim();
  if (labels?.['code-execution.runner-hash'] !== built) {
    throw new Error(`runner image ${RUNNER_IMAGE} was built from other runner code than dist/ (${labels?.['code-execution.runner-hash']} vs ${built}): run npm run images`);
  }
  return null;
}

/** true when Docker tests can run; false (after a loud warning) when they may be skipped; throws under CI. */
export async function dockerAvailable(): Promise<boolean> {
  return availableOrSkip('Docker', await dockerProblem());
}
