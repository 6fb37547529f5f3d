// The process transport's per-job cgroups (memory without swap, pids, one CPU) are made and removed by the
// sandbox supervisor; what is left of a supervisor that died with its worker is reaped here, twice over:
// - reapCgroups: this deployment's cgroups whose owner is dead (its Redis says so), at once;
// - EmptyCgroupSweeper: any deployment's cgroups that have stayed empty past a grace period. A worker killed with
//   SIGKILL leaves its supervisor's pooled cgroups behind, and when no live worker of its deployment is ever started
//   again (a crash loop, a changed REDIS_URL) nobody else would judge them. An empty one holds nothing a live sandbox
//   needs: a live sandbox's cgroup holds its processes, and a new one is empty only from its mkdir until its first
//   process joins (supervisor.c: prepare, start_sandbox_processes), which the grace period covers many times over.
// cgroup v1 and v2.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { ownerInName } from '../../core/sandboxOwner.js';

const ROOT = '/sys/fs/cgroup';
const PARENT = 'code-execution';

function isV2(): boolean {
  return existsSync(join(ROOT, 'cgroup.controllers'));
}

/** The controllers supervisor.c makes each sandbox's cgroup in (v1); cpu and cpuacct may be one hierarchy. */
const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'];

function parents(v2: boolean): string[] {
  return v2 ? [join(ROOT, PARENT)] : V1_CONTROLLERS.map((c) => join(ROOT, c, PARENT));
}

/**
 * Removes the job cgroups of `deployment` (named by sandboxName) whose owners are gone; other deployments'
 * are never looked at, and a cgroup that still has tasks is left alone.
 */
export async function reapCgroups(deployment: string, isGone: (ownerId: string) => Promise<boolean>): Promise<number> {
  let reaped = 0;
  for (const parent of parents(isV2())) {
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      const owner = ownerInName(name, deployment);
      if (owner === null || !(await isGone(owner))) continue;
      try {
        rmdirSync(join(parent, name));
        reaped++;
      } catch {
        // Still has tasks: not an orphan yet.
      }
    }
  }
  return reaped;
}

/**
 * How long a sandbox cgroup must have been seen empty before a worker removes it, whoever's it is: far beyond the
 * moment a new sandbox's cgroup waits for its first process (milliseconds), and a few reclaim intervals long.
 */
export const EMPTY_CGROUP_GRACE_MS = 60_000;

/** A sandbox's name (core/sandboxOwner.ts sandboxName) of any deployment: nothing else in the parent is touched. */
const SANDBOX_NAME = /^[^~/@]+~[^/@]+@[^/]+$/;

/** True when no process is in the cgroup directory (v2: nor below it); null when it cannot be read (going away). */
function isEmpty(dir: string, v2: boolean): boolean | null {
  try {
    if (v2) {
      const populated = readFileSync(join(dir, 'cgroup.events'), 'utf8').match(/^populated (\d)$/m)?.[1];
      if (populated !== undefined) return populated === '0';
    }
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() === '';
  } catch {
    return null;
  }
}

/**
 * Removes sandbox cgroups of every deployment that stayed empty past the grace period. "Stayed" is observed:
 * a sweep notes when it first saw a cgroup empty (in every controller, v1), and a later sweep, still finding it
 * empty, removes it once the grace period has passed since; a cgroup seen holding a process starts over. The
 * kernel refuses to remove a cgroup that has a process, so a process joining at the last moment keeps it.
 * Runs on the worker's reclaim timer (ProcessTransport.reapOrphans).
 */
export class EmptyCgroupSweeper {
  private readonly emptySince = new Map<string, number>();

  /**
   * `scope`: which sandbox names it judges: all of them (a worker's); a test with a short grace period narrows it to
   * its own, so as to leave the host's alone.
   */
  constructor(
    private readonly graceMs = EMPTY_CGROUP_GRACE_MS,
    private readonly scope: (name: string) => boolean = () => true,
  ) {}

  /** One pass; returns how many cgroups it removed. */
  sweep(now = Date.now()): number {
    const v2 = isV2();
    const dirsOf = new Map<string, string[]>();
    for (const parent of parents(v2)) {
      if (!existsSync(parent)) continue;
      for (const name of readdirSync(parent)) {
        if (!SANDBOX_NAME.test(name) || !this.scope(name)) continue;
        dirsOf.set(name, [...(dirsOf.get(name) ?? []), join(parent, name)]);
      }
    }
    for (const name of this.emptySince.keys()) if (!dirsOf.has(name)) this.emptySince.delete(name);
    let removed = 0;
    for (const [name, dirs] of dirsOf) {
      const states = dirs.map((d) => isEmpty(d, v2));
      if (states.includes(null)) continue;
      if (states.includes(false)) {
        this.emptySince.delete(name);
        continue;
      }
      const since = this.emptySince.get(name);
      if (since === undefined) {
        this.emptySince.set(name, now);
        continue;
      }
      if (now - since < this.graceMs) continue;
      this.emptySince.delete(name);
      if (removeAll(dirs)) removed++;
    }
    return removed;
  }
}

/**
 * Every directory of one cgroup, in the order a sandbox's process joins them (memory first): false at the first
 * that stays (a process joined it after all; it is watched afresh), leaving the rest to it.
 */
function removeAll(dirs: string[]): boolean {
  for (const dir of dirs) {
    try {
      rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    }
  }
  return true;
}
