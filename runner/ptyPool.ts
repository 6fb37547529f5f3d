// No job may take ptys: they come from one host-wide pool. Every devpts instance (each container's /dev/pts)
// draws from kernel.pty.max (/proc/sys/kernel/pty/nr counts them all), so a job holding ptys takes them from
// the host's terminals and from every other sandbox. The process and docker transports give the sandbox no
// devpts at all; where a container runtime mounted one anyway (the sidecar's long-lived container, a Kubernetes
// pod), the runner closes it before any job code runs: it is uid 0 and owns the instance's ptmx node, and the
// mode it sets there (chmod by the owner needs no capability) is enforced by the kernel on every job uid.
import { chmodSync, lstatSync, readFileSync } from 'node:fs';

/** Where ptys are opened: the devpts instance's own node, and /dev/ptmx (usually a link to it). */
const PTMX_NODES = ['/dev/pts/ptmx', '/dev/ptmx'];

export class PtyPoolOpen extends Error {
  constructor(detail: string) {
    super(`the sandbox exposes a pty device job code could open (ptys are a host-wide pool): ${detail}`);
    this.name = 'PtyPoolOpen';
  }
}

function mountPoints(): Set<string> {
  return new Set(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter(Boolean));
}

/** Makes every ptmx node in /dev mode 0000; returns those it changed. Throws when one stays usable. */
export function closePtyPool(): string[] {
  const closed: string[] = [];
  let mounts: Set<string> | undefined;
  for (const path of PTMX_NODES) {
    let mode: number;
    try {
      const st = lstatSync(path);
      // A link (/dev/ptmx → pts/ptmx) opens the node it points to, which this loop closes itself.
      if (!st.isCharacterDevice()) continue;
      mode = st.mode & 0o7777;
    } catch {
      continue;
    }
    if (mode === 0) continue;
    // A node bound from the host's /dev is the host's: changing it would close the host's terminals.
    mounts ??= mountPoints();
    if (mounts.has(path)) throw new PtyPoolOpen(`${path} is bound from outside the sandbox; mount a private /dev instead`);
    try {
      chmodSync(path, 0);
    } catch (err) {
      throw new PtyPoolOpen(`cannot make ${path} inaccessible (${(err as Error).message}); the runner must start as uid 0, its owner`);
    }
    closed.push(path);
  }
  return closed;
}
