// What a test must not leave behind: containers with our label, sandbox processes, job-uid processes,
// per-job cgroups and tmpfs mounts, of every deployment (a reaper looks only at its own; a test leaves none).
// Per-job names are `<deployment>~<owner>@<job>` (core/sandboxOwner.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { LABEL_JOB, LABEL_MANAGED, POOLED_JOB } from '../../core/labels.js';
import { DOCKER_SOCKET } from './services.js';

/** Our containers; up to `pooledAllowed` idle warm-pool containers (of a live transport) are not counted. */
export async function ourContainers(pooledAllowed = 0): Promise<string[]> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  try {
    const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } });
    const pooled = list.filter((c) => c.Labels[LABEL_JOB] === POOLED_JOB && c.State === 'running');
    const others = list.filter((c) => !pooled.includes(c));
    const counted = pooled.length > pooledAllowed ? list : others;
    return counted.map((c) => `${c.Id.slice(0, 12)} ${c.State} ${JSON.stringify(c.Labels)}`);
  } catch {
    return [];
  }
}

/** The launcher, the supervisor (its name cut to the kernel's 15 characters) and its sandboxes' two processes. */
const SUPERVISOR = 'sandbox-supervi';
const SANDBOX_COMMANDS = ['sandbox-exec', SUPERVISOR, 'sandbox-parent', 'sandbox-init'];

/** Sandbox processes on this host: launchers, sandbox supervisors and their sandboxes, anything running as a job uid (≥ 100000). */
export function sandboxProcesses(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,uid=,stat=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .filter((l) => {
      const [, uid, stat, comm] = l.split(/\s+/);
      // A zombie runs nothing and holds no memory; bubblewrap's exit can leave one for init to collect.
      if (stat.startsWith('Z')) return false;
      return Number(uid) >= 100_000 || SANDBOX_COMMANDS.includes(comm);
    });
}

/** Per-job cgroups of the process transport still present. */
export function sandboxCgroups(): string[] {
  const parents = ['/sys/fs/cgroup/code-execution', ...['memory', 'pids', 'cpu'].map((c) => `/sys/fs/cgroup/${c}/code-execution`)];
  return parents.filter((p) => existsSync(p)).flatMap((p) => readdirSync(p).filter((n) => n.includes('@')).map((n) => `${p}/${n}`));
}

/** Per-job tmpfs mounts of the process transport still present. */
export function sandboxMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(' /run/code-execution/'));
}

/**
 * What a live process transport keeps between jobs: its supervisor, and up to `allowed` idle warm-pool sandboxes
 * (cgroups named `<owner>@pooled-…`, two processes each). Job-uid processes never belong to it.
 */
function idlePooledSandboxes(cgroups: string[], processes: string[], allowed: number | null): { cgroups: string[]; processes: string[] } {
  if (allowed === null) return { cgroups, processes };
  const pooledName = (entry: string) => entry.match(/@pooled-[0-9a-f]+/)?.[0];
  const names = new Set(cgroups.map(pooledName).filter(Boolean));
  const command = (p: string) => p.split(/\s+/)[3];
  const supervisors = processes.filter((p) => command(p) === SUPERVISOR);
  const sandboxes = processes.filter((p) => ['sandbox-parent', 'sandbox-init'].includes(command(p)));
  if (names.size > allowed || supervisors.length > 1 || sandboxes.length > 2 * allowed) return { cgroups, processes };
  return { cgroups: cgroups.filter((c) => !pooledName(c)), processes: processes.filter((p) => !supervisors.includes(p) && !sandboxes.includes(p)) };
}

/**
 * Polls until nothing is left (containers are removed asynchronously), then reports what remains. With
 * `pooledAllowed` (a live transport), its supervisor and that many idle warm-pool sandboxes (containers or
 * supervised sandboxes) may stay.
 */
export async function expectNothingLeft(timeoutMs = 15_000, pooledAllowed: number | null = null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const containers = await ourContainers(pooledAllowed ?? 0);
    const { cgroups, processes } = idlePooledSandboxes([...sandboxCgroups(), ...sandboxMounts()], sandboxProcesses(), pooledAllowed);
    if (!containers.length && !processes.length && !cgroups.length) return;
    if (Date.now() > deadline) {
      throw new Error(`left behind after the test:\ncontainers: ${containers.join('\n') || 'none'}\nprocesses: ${processes.join('\n') || 'none'}\ncgroups and mounts: ${cgroups.join('\n') || 'none'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
