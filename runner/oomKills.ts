// Counts OOM kills in the sandbox's memory cgroup, so a job the kernel killed for memory is reported as
// memory_limit_exceeded rather than a bare SIGKILL. Transports expose the sandbox's own cgroup at the mount
// root (Docker does; the process transport binds it there), which is tried after the path-qualified file.
import { readFileSync } from 'node:fs';

function cgroupPaths(): { v1: string | null; v2: string | null } {
  let v1: string | null = null;
  let v2: string | null = null;
  try {
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (path === undefined) continue;
      if (controllers.split(',').includes('memory')) v1 = path;
      if (controllers === '') v2 = path;
    }
  } catch {
    // No /proc: fall back to the mount roots below.
  }
  return { v1, v2 };
}

function readCounter(file: string, key: string): number | null {
  try {
    const match = readFileSync(file, 'utf8').match(new RegExp(`^${key} (\\d+)$`, 'm'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** The sandbox cgroup's OOM-kill count, or null when no memory cgroup is visible. */
export function readOomKills(): number | null {
  const { v1, v2 } = cgroupPaths();
  const candidates: [string, string][] = [];
  if (v2 !== null && v2 !== '/') candidates.push([`/sys/fs/cgroup${v2}/memory.events`, 'oom_kill']);
  candidates.push(['/sys/fs/cgroup/memory.events', 'oom_kill']);
  if (v1 !== null && v1 !== '/') candidates.push([`/sys/fs/cgroup/memory${v1}/memory.oom_control`, 'oom_kill']);
  candidates.push(['/sys/fs/cgroup/memory/memory.oom_control', 'oom_kill']);
  for (const [file, key] of candidates) {
    const n = readCounter(file, key);
    if (n !== null) return n;
  }
  return null;
}
