// Which sandboxes on this host are this test process's. Other runs of the suite, and workers of other deployments,
// may share the host at the same time: the leftover checks (leftovers.ts) and the battery's host watch judge only
// what this process claimed, so they neither fail on another's sandboxes nor touch them. How each kind is told:
//
// - Cgroups and tmpfs mounts carry their sandbox's name, `<deployment>~<owner>@<job>` (core/sandboxOwner.ts): ours
//   when the deployment is one this process claimed. Whatever starts sandboxes claims their deployment:
//   startWorker (the deployment its queue gives it, as the worker computes it), startSidecar (the sidecar's own
//   deployment, or its container's name), and testDeployment()/testOwner() for tests that name an owner themselves
//   (unique to this process, so two runs of one file never share one). A command whose queue the test cannot
//   know (`code-exec demo` picks its own stream) is claimed by its worker name (claimWorkerName): owners are
//   `<WORKER_NAME>-<random>`.
// - Containers: by their labels (code-execution.deployment, .owner), or by a name this process gave them.
// - Processes of a sandbox (sandbox-init, a container's executor, anything running as a job uid): by the cgroup
//   they live in (/proc/<pid>/cgroup): a sandbox cgroup as above, or a container's. Job processes cannot leave
//   their cgroup, so this holds for orphans too.
// - The sandbox supervisor stays in its worker's cgroup and hides its arguments, so neither tells whose it is. It
//   dies with the process that started it (PR_SET_PDEATHSIG), and every supervisor a test makes is started by the
//   test process itself (an in-process transport), by a worker or sidecar it spawned, or by a command it ran: so a
//   supervisor is ours when this process is among its ancestors. A supervisor that outlived its parent (it must
//   not) has been reparented away from us: it is still ours when one of its children is in a sandbox cgroup of
//   ours. Any other process descended from this one counts as ours as well (a sandbox process caught between its
//   fork and joining its cgroup).
// What cannot be told at all (a mount or process naming no sandbox, outside our process tree) is nobody's here.
//
// Shown by test/worker/leftoverAttribution.test.ts (another deployment's worker, outside our tree, keeps a warm pool
// while our checks pass), and by two runs at once, which both pass:
//   FILES="test/contract/warmPool.test.ts test/faults/workerKilled.test.ts test/worker/leftoverAttribution.test.ts
//     test/faults/emptyCgroups.test.ts"
//   npx vitest run $FILES & npx vitest run $FILES & wait
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { LABEL_DEPLOYMENT, LABEL_MANAGED, LABEL_OWNER } from '../../core/labels.js';
import { deploymentId, type SandboxOwner } from '../../core/sandboxOwner.js';
import { loadConfig } from '../../worker/config.js';
import { DOCKER_SOCKET } from './services.js';

/**
 * What a check looks at: sandboxes of these deployments or of owners of these worker names, containers of these
 * names, and (for supervisors) processes descended from these.
 */
export interface Claims {
  readonly deployments: Set<string>;
  readonly workerNames: Set<string>;
  readonly containerNames: Set<string>;
  readonly roots: Set<number>;
}

/** Claims of nothing yet (a check of someone else's deployment, made by a test: no process tree of ours counts). */
export const newClaims = (deployments: string[] = []): Claims => ({ deployments: new Set(deployments), workerNames: new Set(), containerNames: new Set(), roots: new Set() });

/** This test process's claims: every check defaults to them. */
export const CLAIMED: Claims = { ...newClaims(), roots: new Set([process.pid]) };

/** Unique to this test process (and so to this run): pid, for a person reading names, and a random part. */
const RUN = `${process.pid}-${randomBytes(3).toString('hex')}`;

export function claimDeployment(deployment: string): string {
  CLAIMED.deployments.add(deployment);
  return deployment;
}

/** For commands that choose their own queue: their sandboxes' owners are `<name>-<random>`. */
export function claimWorkerName(name: string): string {
  CLAIMED.workerNames.add(name);
  return name;
}

export function claimContainerName(name: string): string {
  CLAIMED.containerNames.add(name);
  return name;
}

/** A deployment of this run alone, claimed: for tests that give their transports an owner themselves. */
export function testDeployment(purpose: string): string {
  return claimDeployment(`${purpose}-${RUN}`);
}

/** An owner in a deployment of this run alone (claimed), named for what the test is. */
export function testOwner(purpose: string): SandboxOwner {
  return { deployment: testDeployment(purpose), ownerId: purpose };
}

/** A WORKER_NAME of this run alone, claimed: for commands that pick their own queue. */
export function testWorkerName(purpose: string): string {
  return claimWorkerName(`${purpose}-${RUN}`);
}

/** A container name of this run alone, claimed. */
export function testContainerName(purpose: string): string {
  return claimContainerName(`${purpose}-test-${RUN}-${randomBytes(3).toString('hex')}`);
}

/** The deployment a `code-exec worker` with this environment serves, as it computes it; null if it would not start. */
export function workerDeployment(env: Record<string, string | undefined>): string | null {
  try {
    return deploymentId(loadConfig(env));
  } catch {
    return null;
  }
}

/** `<deployment>~<owner>@<job>` split; null for any other name. */
export function parseSandboxName(name: string): { deployment: string; owner: string } | null {
  const m = name.match(/^([^~/@]+)~([^/@]+)@[^/]+$/);
  return m ? { deployment: m[1], owner: m[2] } : null;
}

function claimsOwner(claims: Claims, deployment: string | undefined, owner: string | undefined): boolean {
  if (deployment !== undefined && claims.deployments.has(deployment)) return true;
  return owner !== undefined && [...claims.workerNames].some((n) => owner.startsWith(`${n}-`));
}

/** A cgroup's or mount's sandbox name that is ours. */
export function isClaimedSandboxName(name: string, claims: Claims = CLAIMED): boolean {
  const parsed = parseSandboxName(name);
  return parsed !== null && claimsOwner(claims, parsed.deployment, parsed.owner);
}

export interface ContainerSummary {
  id: string;
  names: string[];
  labels: Record<string, string>;
}

export function isClaimedContainer(c: ContainerSummary, claims: Claims = CLAIMED): boolean {
  if (c.names.some((n) => claims.containerNames.has(n.replace(/^\//, '')))) return true;
  return c.labels[LABEL_MANAGED] === 'true' && claimsOwner(claims, c.labels[LABEL_DEPLOYMENT], c.labels[LABEL_OWNER]);
}

/**
 * Another's beyond doubt: a deployment's sandbox container not claimed here, or a container another test process
 * named (testContainerName). What is neither may be anybody's (the battery reports such new containers).
 */
export function isOthersContainer(c: ContainerSummary, claims: Claims = CLAIMED): boolean {
  if (isClaimedContainer(c, claims)) return false;
  if (c.labels[LABEL_MANAGED] === 'true') return true;
  return c.names.some((n) => /^\/?[a-z0-9-]+-test-\d+-[0-9a-f]{6}-[0-9a-f]{6}$/.test(n));
}

/** A container as the engine describes it (asked synchronously: the checks are); null when there is no such container or engine. */
export function inspectContainer(id: string): ContainerSummary | null {
  try {
    const out = execFileSync('docker', ['-H', `unix://${DOCKER_SOCKET}`, 'inspect', '--format', '{{json .Name}} {{json .Config.Labels}}', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const space = out.indexOf(' ');
    return { id, names: [JSON.parse(out.slice(0, space)) as string], labels: (JSON.parse(out.slice(space + 1)) as Record<string, string> | null) ?? {} };
  } catch {
    return null;
  }
}

export interface HostProcess {
  pid: number;
  ppid: number;
  uid: number;
  /** The state letter of /proc/<pid>/stat (Z: a zombie). */
  state: string;
  /** Start time in clock ticks after boot: with the pid, names one process for good. */
  start: string;
  comm: string;
}

/** Every process on the host, from /proc. */
export function readHostProcesses(): Map<number, HostProcess> {
  const out = new Map<number, HostProcess>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm may hold spaces and parentheses: the fields after it start at the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const uid = Number(readFileSync(`/proc/${name}/status`, 'utf8').match(/^Uid:\s+\d+\s+(\d+)/m)?.[1]);
      const pid = Number(name);
      out.set(pid, { pid, ppid: Number(fields[1]), uid, state: fields[0], start: fields[19], comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // Exited meanwhile.
    }
  }
  return out;
}

/** The supervisor's name as the kernel keeps it (15 characters). */
export const SUPERVISOR_COMM = 'sandbox-supervi';

/** Where a process lives: a sandbox cgroup (by name), a container (by id), or neither. */
export type Placement = { cgroup: string } | { container: string } | null;

export function placementOf(pid: number): Placement {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    const container = path.match(/(?:^|\/)docker[-/]([0-9a-f]{64})(?:\.scope)?(?:\/|$)/)?.[1];
    if (container) return { container };
    const cgroup = path.match(/(?:^|\/)code-execution\/([^/]+)/)?.[1];
    if (cgroup) return { cgroup };
  }
  return null;
}

/** One look at the host's processes and containers, judged against `claims`. */
export class HostView {
  private readonly children = new Map<number, HostProcess[]>();
  private readonly placements = new Map<number, Placement>();
  private readonly containers = new Map<string, ContainerSummary | null>();

  private constructor(
    readonly processes: Map<number, HostProcess>,
    readonly claims: Claims,
  ) {
    for (const p of processes.values()) {
      const siblings = this.children.get(p.ppid) ?? [];
      siblings.push(p);
      this.children.set(p.ppid, siblings);
    }
  }

  static take(claims: Claims = CLAIMED): HostView {
    return new HostView(readHostProcesses(), claims);
  }

  /** One of `roots` is `pid` or among its ancestors. */
  descendsFrom(pid: number, roots: ReadonlySet<number>): boolean {
    for (let q = this.processes.get(pid), hops = 0; q && hops < 128; q = this.processes.get(q.ppid), hops++) {
      if (roots.has(q.pid)) return true;
      if (q.ppid === q.pid) break;
    }
    return false;
  }

  private placement(pid: number): Placement {
    if (!this.placements.has(pid)) this.placements.set(pid, placementOf(pid));
    return this.placements.get(pid)!;
  }

  /** Lives in a sandbox cgroup or container of ours. */
  private placedInOurs(pid: number): boolean {
    const place = this.placement(pid);
    if (place === null) return false;
    if ('cgroup' in place) return isClaimedSandboxName(place.cgroup, this.claims);
    if (!this.containers.has(place.container)) this.containers.set(place.container, inspectContainer(place.container));
    const container = this.containers.get(place.container);
    return container != null && isClaimedContainer(container, this.claims);
  }

  /** Whether a process is one of ours (see the file's header). */
  isOurs(pid: number): boolean {
    const p = this.processes.get(pid);
    if (!p) return false;
    if (this.descendsFrom(pid, this.claims.roots)) return true;
    if (this.placedInOurs(pid)) return true;
    return p.comm === SUPERVISOR_COMM && (this.children.get(pid) ?? []).some((c) => this.placedInOurs(c.pid));
  }
}
