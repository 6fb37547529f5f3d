// The process transport's per-job cgroups (memory without swap, pids, one CPU) are made and removed by the
// sandbox supervisor; what is left of a supervisor that died with its worker is reaped here. cgroup v1 and v2.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { ownerInName } from '../../core/sandboxOwner.js';

const ROOT = '/sys/fs/cgroup';
const PARENT = 'code-execution';

function isV2(): boolean {
  return existsSync(join(ROOT, 'cgroup.controllers'));
}

const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'];

/**
 * Removes the job cgroups of `deployment` (named by sandboxName) whose owners are gone; other deployments'
 * are never looked at, and a cgroup that still has tasks is left alone.
 */
export async function reapCgroups(deployment: string, isGone: (ownerId: string) => Promise<boolean>): Promise<number> {
  const parents = isV2() ? [join(ROOT, PARENT)] : V1_CONTROLLERS.map((c) => join(ROOT, c, PARENT));
  let reaped = 0;
  for (const parent of parents) {
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
