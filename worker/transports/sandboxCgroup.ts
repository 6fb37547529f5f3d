// A per-job cgroup for the process transport: memory (no swap), pids and one CPU, so the kernel enforces
// the sandbox's budget the way Docker does for a container. Supports cgroup v1 and v2.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ownerInName } from '../../core/sandboxOwner.js';

const ROOT = '/sys/fs/cgroup';
const PARENT = 'code-execution';

export interface CgroupBudget {
  memoryBytes: number;
  pidsMax: number;
}

export interface SandboxCgroup {
  /** `cgroup.procs` files a process writes its pid to, to join. */
  procsFiles: string[];
  /** [host directory, mount point in the sandbox]: the runner reads its OOM and CPU counters there. */
  binds: [string, string][];
  /** OOM kills the kernel made in this cgroup so far. */
  oomKills(): number;
  /** Sets new limits (a warm-pool sandbox is refitted to its job's). */
  setBudget(budget: CgroupBudget): void;
  remove(): Promise<void>;
}

export class CgroupUnavailable extends Error {
  constructor(detail: string) {
    super(`the process transport needs writable cgroups (run the worker as root): ${detail}`);
    this.name = 'CgroupUnavailable';
  }
}

function write(dir: string, file: string, value: string): void {
  writeFileSync(join(dir, file), value);
}

function isV2(): boolean {
  return existsSync(join(ROOT, 'cgroup.controllers'));
}

const V1_CONTROLLERS = ['memory', 'pids', 'cpu', 'cpuacct'];

function createV1(name: string, budget: CgroupBudget): string[] {
  // cpu and cpuacct may be one hierarchy under two names: the same directory twice is harmless.
  const dirs = V1_CONTROLLERS.map((c) => join(ROOT, c, PARENT, name));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  const [memory, , cpu] = dirs;
  setBudgetV1(dirs, budget);
  write(memory, 'memory.swappiness', '0');
  write(cpu, 'cpu.cfs_period_us', '100000');
  write(cpu, 'cpu.cfs_quota_us', '100000');
  return dirs;
}

function setBudgetV1([memory, pids]: string[], budget: CgroupBudget): void {
  const files = ['memory.limit_in_bytes', ...(existsSync(join(memory, 'memory.memsw.limit_in_bytes')) ? ['memory.memsw.limit_in_bytes'] : [])];
  // memory+swap may never be below memory: memory first when shrinking, memory+swap first when growing.
  const growing = budget.memoryBytes > Number(readFileSync(join(memory, 'memory.limit_in_bytes'), 'utf8'));
  for (const file of growing ? files.reverse() : files) write(memory, file, String(budget.memoryBytes));
  write(pids, 'pids.max', String(budget.pidsMax));
}

function setBudgetV2([dir]: string[], budget: CgroupBudget): void {
  write(dir, 'memory.max', String(budget.memoryBytes));
  write(dir, 'pids.max', String(budget.pidsMax));
}

function createV2(name: string, budget: CgroupBudget): string[] {
  const parent = join(ROOT, PARENT);
  mkdirSync(parent, { recursive: true });
  const wanted = ['memory', 'pids', 'cpu'];
  const available = readFileSync(join(ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/);
  const enable = wanted.filter((c) => available.includes(c)).map((c) => `+${c}`).join(' ');
  write(ROOT, 'cgroup.subtree_control', enable);
  write(parent, 'cgroup.subtree_control', enable);
  const dir = join(parent, name);
  mkdirSync(dir);
  setBudgetV2([dir], budget);
  if (existsSync(join(dir, 'memory.swap.max'))) write(dir, 'memory.swap.max', '0');
  if (existsSync(join(dir, 'cpu.max'))) write(dir, 'cpu.max', '100000 100000');
  return [dir];
}

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

export function createSandboxCgroup(name: string, budget: CgroupBudget): SandboxCgroup {
  const v2 = isV2();
  let dirs: string[];
  try {
    dirs = v2 ? createV2(name, budget) : createV1(name, budget);
  } catch (err) {
    throw new CgroupUnavailable((err as Error).message);
  }
  return {
    procsFiles: [...new Set(dirs)].map((d) => join(d, 'cgroup.procs')),
    binds: v2 ? [[dirs[0], ROOT]] : [[dirs[0], join(ROOT, 'memory')], [dirs[3], join(ROOT, 'cpuacct')]],
    setBudget(budget) {
      (v2 ? setBudgetV2 : setBudgetV1)(dirs, budget);
    },
    oomKills() {
      const text = readFileSync(join(dirs[0], v2 ? 'memory.events' : 'memory.oom_control'), 'utf8');
      return Number(text.match(/^oom_kill (\d+)$/m)?.[1] ?? 0);
    },
    async remove() {
      // The kernel frees a cgroup only once its last task is reaped, a moment after the sandbox exits.
      for (const d of dirs) {
        for (let attempt = 0; existsSync(d); attempt++) {
          try {
            rmdirSync(d);
          } catch (err) {
            if (attempt >= 50) throw new Error(`cannot remove cgroup ${d}: ${(err as Error).message}`);
            await delay(20);
          }
        }
      }
    },
  };
}
