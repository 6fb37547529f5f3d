// Counters of the sandbox's own cgroup, read by the runner around the job: OOM kills (so a job the kernel
// killed for memory is memory_limit_exceeded, not a bare SIGKILL), CPU time (which, unlike rusage, also
// counts children the job let the kernel reap for it) and resident memory (which, unlike one process's peak
// RSS, also counts memory spread over several processes or left in tmpfs). Transports expose the sandbox's cgroup at the mount
// root (Docker does; the process transport binds it there), tried after the path-qualified file.
import { readFileSync } from 'node:fs';

interface CgroupPaths {
  /** v1 hierarchy path per controller, e.g. memory → /docker/<id>. */
  v1: Map<string, string>;
  v2: string | null;
}

let ownPaths: CgroupPaths | undefined;

/** The runner's cgroups: fixed for its life (it is started inside the sandbox's), so read once. */
function cgroupPaths(): CgroupPaths {
  return (ownPaths ??= readCgroupPaths());
}

function readCgroupPaths(): CgroupPaths {
  const paths: CgroupPaths = { v1: new Map(), v2: null };
  try {
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (path === undefined) continue;
      if (controllers === '') paths.v2 = path;
      for (const c of controllers.split(',')) if (c) paths.v1.set(c, path);
    }
  } catch {
    // No /proc: fall back to the mount roots below.
  }
  return paths;
}

function v2Files(file: string): string[] {
  const { v2 } = cgroupPaths();
  return [...(v2 !== null && v2 !== '/' ? [`/sys/fs/cgroup${v2}/${file}`] : []), `/sys/fs/cgroup/${file}`];
}

function v1Files(controller: string, file: string): string[] {
  const p = cgroupPaths().v1.get(controller);
  return [...(p !== undefined && p !== '/' ? [`/sys/fs/cgroup/${controller}${p}/${file}`] : []), `/sys/fs/cgroup/${controller}/${file}`];
}

/** The file that answered last time, per list of candidates: the counters are read around every run. */
const answered = new Map<string, string>();

function firstReadable(files: string[], parse: (text: string) => number | null): number | null {
  const key = files.join('\n');
  const known = answered.get(key);
  for (const file of known ? [known, ...files] : files) {
    try {
      const n = parse(readFileSync(file, 'utf8'));
      if (n !== null) {
        answered.set(key, file);
        return n;
      }
    } catch {
      // Not this one.
    }
  }
  return null;
}

/** A file holding one whole number. */
const wholeNumber = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text.trim()) : null);

const keyed = (key: string) => (text: string) => {
  const match = text.match(new RegExp(`^${key} (\\d+)$`, 'm'));
  return match ? Number(match[1]) : null;
};

/** The sandbox cgroup's OOM-kill count, or null when no memory cgroup is visible. */
export function readOomKills(): number | null {
  return firstReadable([...v2Files('memory.events'), ...v1Files('memory', 'memory.oom_control')], keyed('oom_kill'));
}

/** CPU time used by every task of the sandbox cgroup so far, in ms, or null when not visible. */
export function readCgroupCpuMs(): number | null {
  const usec = firstReadable(v2Files('cpu.stat'), keyed('usage_usec'));
  if (usec !== null) return usec / 1000;
  const nsec = firstReadable(v1Files('cpuacct', 'cpuacct.usage'), wholeNumber);
  return nsec === null ? null : nsec / 1e6;
}

/**
 * Memory of the sandbox cgroup that belongs to its processes, in KB: anonymous, tmpfs and kernel memory
 * (pipe and socket buffers, inodes, stacks). Page cache is left out: it is not the job's.
 */
export function readResidentKb(): number | null {
  const sum = (required: string[], optional: string[] = []) => (text: string) => {
    const values = required.map((k) => keyed(k)(text));
    if (values.some((v) => v === null)) return null;
    const extra = optional.map((k) => keyed(k)(text) ?? 0);
    return [...(values as number[]), ...extra].reduce((a, b) => a + b, 0);
  };
  const v2 = firstReadable(v2Files('memory.stat'), sum(['anon', 'shmem'], ['kernel', 'sock']));
  if (v2 !== null) return v2 / 1024;
  const v1 = firstReadable(v1Files('memory', 'memory.stat'), sum(['total_rss', 'total_shmem']));
  if (v1 === null) return null;
  return (v1 + (firstReadable(v1Files('memory', 'memory.kmem.usage_in_bytes'), wholeNumber) ?? 0)) / 1024;
}
