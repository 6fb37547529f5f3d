// The process sandbox's /tmp and /workspace: one tmpfs per job, mounted on the host with a size and an
// inode limit (bubblewrap's own --tmpfs cannot cap inodes, and inodes are kernel memory no size= counts),
// then bound into the sandbox. Named like the cgroups (sandboxName), so the reaper finds its deployment's orphans.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WORKSPACE_INODES, WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import { ownerInName } from '../../core/sandboxOwner.js';

const run = promisify(execFile);
const ROOT = '/run/code-execution';

export interface SandboxTmpfs {
  tmp: string;
  workspace: string;
  remove(): Promise<void>;
}

async function unmountAndRemove(dir: string): Promise<void> {
  // Lazy: a sandbox process still dying keeps its own view; the memory goes with its last reference.
  await run('umount', ['--lazy', dir]).catch(() => {});
  try {
    rmdirSync(dir);
  } catch (err) {
    // Already gone is removed.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function createSandboxTmpfs(name: string): Promise<SandboxTmpfs> {
  const dir = join(ROOT, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const options = `size=${2 * WORKSPACE_SIZE_MB}m,nr_inodes=${2 * WORKSPACE_INODES},mode=0755,nosuid,nodev`;
  try {
    await run('mount', ['-t', 'tmpfs', '-o', options, 'code-execution', dir]);
    for (const sub of ['tmp', 'workspace']) mkdirSync(join(dir, sub), { mode: 0o1777 });
    await run('chmod', ['1777', join(dir, 'tmp'), join(dir, 'workspace')]);
  } catch (err) {
    await unmountAndRemove(dir).catch(() => {});
    throw new Error(`cannot mount the sandbox tmpfs at ${dir} (the process transport needs root): ${(err as Error).message}`);
  }
  return { tmp: join(dir, 'tmp'), workspace: join(dir, 'workspace'), remove: () => unmountAndRemove(dir) };
}

/** Unmounts the tmpfs of `deployment` whose owners are gone; other deployments' are never looked at. */
export async function reapTmpfs(deployment: string, isGone: (ownerId: string) => Promise<boolean>): Promise<number> {
  if (!existsSync(ROOT)) return 0;
  let reaped = 0;
  for (const name of readdirSync(ROOT)) {
    const owner = ownerInName(name, deployment);
    if (owner === null || !(await isGone(owner))) continue;
    await unmountAndRemove(join(ROOT, name)).then(() => reaped++, () => {});
  }
  return reaped;
}
