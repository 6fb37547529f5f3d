// Whether this process runs in a container made for jobs: the one check every program that empties shared places
// (/tmp, /dev/shm, a workspace) makes before it touches them. The runner and the sidecar's container sandbox wipe
// those between jobs; on a host they would delete other programs' files.
import { accessSync, constants } from 'node:fs';

/**
 * Exit status of the runner started outside a job container (sysexits' EX_CONFIG: the program is fine, the place it
 * was started in is not).
 */
export const EXIT_OUTSIDE_JOB_CONTAINER = 78;

/**
 * Why this is not a job container, or null when it is. Every container that runs jobs has a read-only root (the
 * runner image under the sidecar, a Kubernetes runner pod; the cloud stacks and transports set it): that is what
 * makes /tmp, /dev/shm and its volumes the only places a job can write, and emptying them safe. A host's root is
 * writable by root.
 */
export function outsideJobContainer(): string | null {
  try {
    accessSync('/', constants.W_OK);
  } catch {
    return null;
  }
  return 'the root filesystem is writable, so this is not a job container (those have a read-only root)';
}
