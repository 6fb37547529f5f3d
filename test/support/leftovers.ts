// What a test must not leave behind: sandbox containers, sandbox processes, job-uid processes, per-job cgroups and
// tmpfs mounts. Only its own are looked at: those of the deployments and containers this test process claimed
// (sandboxClaims.ts says how each kind is told), so that another run of the suite, or a worker of another
// deployment on this host, neither fails a test nor is blamed on one. Per-job names are
// `<deployment>~<owner>@<job>` (core/sandboxOwner.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { LABEL_JOB, LABEL_MANAGED, POOLED_JOB } from '../../core/labels.js';
import { JOB_UID_MIN } from '../../core/protocol/limits.js';
import { CLAIMED, HostView, isClaimedContainer, isClaimedSandboxName, SUPERVISOR_COMM, type Claims, type HostProcess } from './sandboxClaims.js';
import { DOCKER_SOCKET } from './services.js';

/** Our sandbox containers; up to `pooledAllowed` idle warm-pool containers (of a live transport) are not counted. */
export async function ourContainers(pooledAllowed = 0, claims: Claims = CLAIMED): Promise<string[]> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  try {
    const list = (await docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } }))
      .filter((c) => isClaimedContainer({ id: c.Id, names: c.Names ?? [], labels: c.Labels ?? {} }, claims));
    const pooled = list.filter((c) => c.Labels[LABEL_JOB] === POOLED_JOB && c.State === 'running');
    const others = list.filter((c) => !pooled.includes(c));
    const counted = pooled.length > pooledAllowed ? list : others;
    return counted.map((c) => `${c.Id.slice(0, 12)} ${c.State} ${JSON.stringify(c.Labels)}`);
  } catch {
    return [];
  }
}

/** The supervisor and its sandboxes' one process. */
const SANDBOX_COMMANDS = [SUPERVISOR_COMM, 'sandbox-init'];
const POOLED_SANDBOX_COMMANDS = ['sandbox-init'];

const describeProcess = (p: HostProcess) => `${p.pid} ${p.uid} ${p.state} ${p.comm}`;

function ourSandboxProcesses(claims: Claims): HostProcess[] {
  const view = HostView.take(claims);
  return [...view.processes.values()].filter(
    // A zombie runs nothing and holds no memory; a sandbox's exit can leave one for init to collect.
    (p) => p.state !== 'Z' && (p.uid >= JOB_UID_MIN || SANDBOX_COMMANDS.includes(p.comm)) && view.isOurs(p.pid),
  );
}

/** Our sandbox processes: launchers, sandbox supervisors and their sandboxes, anything running as a job uid. */
export function sandboxProcesses(claims: Claims = CLAIMED): string[] {
  return ourSandboxProcesses(claims).map(describeProcess);
}

const CGROUP_PARENTS = ['/sys/fs/cgroup/code-execution', ...['memory', 'pids', 'cpu', 'cpuacct'].map((c) => `/sys/fs/cgroup/${c}/code-execution`)];

/** Our per-job cgroups of the process transport still present. */
export function sandboxCgroups(claims: Claims = CLAIMED): string[] {
  return CGROUP_PARENTS.filter((p) => existsSync(p)).flatMap((p) => readdirSync(p).filter((n) => isClaimedSandboxName(n, claims)).map((n) => `${p}/${n}`));
}

/** Our per-job tmpfs mounts (under /run/code-execution, named by their sandbox) still present. */
export function sandboxMounts(claims: Claims = CLAIMED): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => {
    const mountPoint = l.split(' ')[4] ?? '';
    return mountPoint.startsWith('/run/code-execution/') && mountPoint.split('/').some((part) => isClaimedSandboxName(part, claims));
  });
}

/**
 * What a live process transport keeps between jobs: its supervisor, and up to `allowed` idle warm-pool sandboxes
 * (cgroups named `<deployment>~<owner>@pooled-…`, two processes each). Job-uid processes never belong to it.
 */
function idlePooledSandboxes(cgroups: string[], processes: HostProcess[], allowed: number | null): { cgroups: string[]; processes: HostProcess[] } {
  if (allowed === null) return { cgroups, processes };
  const pooledName = (entry: string) => entry.match(/@pooled-[0-9a-f]+/)?.[0];
  const names = new Set(cgroups.map(pooledName).filter(Boolean));
  const supervisors = processes.filter((p) => p.comm === SUPERVISOR_COMM);
  const sandboxes = processes.filter((p) => POOLED_SANDBOX_COMMANDS.includes(p.comm));
  if (names.size > allowed || supervisors.length > 1 || sandboxes.length > 2 * allowed) return { cgroups, processes };
  return { cgroups: cgroups.filter((c) => !pooledName(c)), processes: processes.filter((p) => !supervisors.includes(p) && !sandboxes.includes(p)) };
}

/**
 * Polls until nothing of ours is left (containers are removed asynchronously), then reports what remains. With
 * `pooledAllowed` (a live transport), its supervisor and that many idle warm-pool sandboxes (containers or
 * supervised sandboxes) may stay. `claims`: whose sandboxes to look at (this test process's by default).
 */
export async function expectNothingLeft(timeoutMs = 15_000, pooledAllowed: number | null = null, claims: Claims = CLAIMED): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const containers = await ourContainers(pooledAllowed ?? 0, claims);
    const left = idlePooledSandboxes([...sandboxCgroups(claims), ...sandboxMounts(claims)], ourSandboxProcesses(claims), pooledAllowed);
    if (!containers.length && !left.processes.length && !left.cgroups.length) return;
    if (Date.now() > deadline) {
      throw new Error(
        `left behind after the test:\ncontainers: ${containers.join('\n') || 'none'}\nprocesses: ${left.processes.map(describeProcess).join('\n') || 'none'}\ncgroups and mounts: ${left.cgroups.join('\n') || 'none'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
