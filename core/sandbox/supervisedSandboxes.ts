// Jobs in sandboxes made by the sandbox supervisor (runner/sandbox/supervisor.c) on this host: what the process
// transport runs. Each job gets a fresh sandbox the supervisor prepared
// ahead (own pid, mount, network, ipc, uts and cgroup namespaces, its own new cgroup, tmpfs /workspace, /tmp and
// /dev/shm inside its mount namespace, read-only system directories, a /dev without ptys); no Node.js process
// and no fork of the caller per job.
import { accessSync, constants, existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TransportError } from '../errors.js';
import { planJob } from '../judge.js';
import { LANGUAGES } from '../languages.js';
import { phaseClock } from '../phaseClock.js';
import type { Job } from '../protocol/job.js';
import { POOLED_SANDBOX_SIZE, sandboxBudget, WORKSPACE_INODES, WORKSPACE_SIZE_MB, type SandboxSize } from '../protocol/limits.js';
import type { RunOutcome } from '../protocol/result.js';
import { jobDeadlineMs } from '../protocol/runnerOutput.js';
import { DIST_DIR } from '../runnerBundle.js';
import { sandboxName, type SandboxOwner } from '../sandboxOwner.js';
import { runnerKilledForMemory } from '../verdict.js';
import { SandboxSupervisor } from './supervisor.js';
import { encodeRequest, judgeInSandbox, SandboxEnded, withJudgedPhases } from './wire.js';

/** /etc entries every program needs; the toolchains' own come from their recipes, the rest of /etc stays out of reach. */
const ETC_ENTRIES = ['ssl', 'alternatives', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'nsswitch.conf', 'passwd', 'group', 'localtime'];

/** The recipes' host paths that exist here; a trailing `*` matches names starting with what precedes it. */
function toolchainPaths(): string[] {
  const patterns = [...new Set(Object.values(LANGUAGES).flatMap((r) => r.hostPaths ?? []))];
  return patterns.flatMap((p) => {
    if (!p.endsWith('*')) return existsSync(p) ? [p] : [];
    const dir = dirname(p), prefix = basename(p).slice(0, -1);
    return existsSync(dir) ? readdirSync(dir).filter((e) => e.startsWith(prefix)).map((e) => join(dir, e)) : [];
  });
}

/**
 * Devices of the sandbox's /dev, bound from the host. No pts and no ptmx: the ptys of every devpts instance count
 * against one host-wide limit (kernel.pty.max), so a job could take the host's terminals.
 */
const SANDBOX_DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

export const SUPERVISOR_BINARY = join(DIST_DIR, 'sandbox-supervisor');

/** Why this host cannot run supervised sandboxes, or null when it can. */
export function supervisedSandboxProblem(supervisor = SUPERVISOR_BINARY): string | null {
  if (process.getuid?.() !== 0) return 'supervised sandboxes need root (the supervisor creates namespaces and cgroups, then drops each job to its own uid)';
  if (!existsSync(supervisor)) return `the sandbox supervisor is missing at ${supervisor}: run \`npm run build\``;
  try {
    accessSync('/sys/fs/cgroup', constants.W_OK);
  } catch {
    return '/sys/fs/cgroup is not writable here: supervised sandboxes need cgroups of their own';
  }
  return null;
}

/** What the sandboxes see of the host: /usr, the common /etc entries and the toolchains' paths, read-only. */
function systemMounts(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/lib', '/lib64', '/sbin']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  const etc = readdirSync('/etc').filter((e) => ETC_ENTRIES.includes(e)).map((e) => `/etc/${e}`);
  for (const path of [...etc, ...toolchainPaths()]) args.push('--ro-bind', path, path);
  for (const dev of SANDBOX_DEVICES) args.push('--dev', dev);
  return args;
}

export interface SupervisedSandboxOptions {
  /** Sandboxes kept ready ahead of jobs (0 or absent: each job waits for its own). */
  poolSize?: number;
  /** The size ready sandboxes start with (the size most jobs have); others are refitted when taken. */
  poolLimits?: SandboxSize;
  /** The supervisor program (default: the one `npm run build` made). */
  supervisor?: string;
  /** Told what the supervisor logs (a sandbox that could not be prepared, a cgroup that would not go). */
  onPoolError?: (err: Error) => void;
}

export class SupervisedSandboxes {
  private supervisor: SandboxSupervisor | null = null;
  private readonly poolSize: number;
  private readonly args: string[];
  private readonly binary: string;
  private readonly onLog: (line: string) => void;

  /** `owner`: on every sandbox's name (its cgroup), for the reaper. */
  constructor(owner: SandboxOwner, opts: SupervisedSandboxOptions = {}) {
    this.binary = opts.supervisor ?? SUPERVISOR_BINARY;
    const problem = supervisedSandboxProblem(this.binary);
    if (problem) throw new Error(problem);
    this.poolSize = opts.poolSize ?? 0;
    const budget = sandboxBudget(opts.poolLimits ?? POOLED_SANDBOX_SIZE);
    this.args = [
      '--ready', String(this.poolSize),
      '--name-prefix', sandboxName(owner, this.poolSize > 0 ? 'pooled-' : 'sandbox-'),
      '--memory-bytes', String(budget.memoryBytes), '--pids-max', String(budget.pidsMax),
      '--tmpfs-mb', String(WORKSPACE_SIZE_MB), '--tmpfs-inodes', String(WORKSPACE_INODES),
      ...systemMounts(),
    ];
    const report = opts.onPoolError ?? (() => {});
    this.onLog = (line) => report(new Error(`sandbox supervisor: ${line}`));
    // Started now, not with the first job: it is part of what runs jobs, and jobs should not wait for its start.
    this.running();
  }

  /** The supervisor, started again if it died (its jobs failed with it and are retried). */
  private running(): SandboxSupervisor {
    if (!this.supervisor?.alive) this.supervisor = new SandboxSupervisor({ binary: this.binary, args: this.args, onLog: this.onLog });
    return this.supervisor;
  }

  /** Sandboxes ready for a job now. */
  get readyCount(): number {
    return this.supervisor?.readyCount ?? 0;
  }

  async run(job: Job): Promise<RunOutcome> {
    const clock = phaseClock();
    const plan = planJob(job);
    const supervisor = this.running();
    const session = supervisor.start(job.id, sandboxBudget(job), encodeRequest(plan), plan.steps.length);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        session.kill();
        reject(new TransportError(`process sandbox killed: no result within ${jobDeadlineMs(job)} ms`));
      }, jobDeadlineMs(job));
    });
    try {
      const judged = (async () => {
        const hit = await session.assigned();
        clock.lap('sandboxMs');
        clock.lap('workspaceMs');
        return { outcome: await judgeInSandbox(job, plan, session, clock), hit };
      })();
      // Past the deadline the session still ends (the kill ends its sandbox): nobody waits for it then.
      judged.catch(() => {});
      const { outcome, hit } = await Promise.race([judged, deadline]);
      return withJudgedPhases(outcome, clock, this.poolSize > 0 ? hit : undefined);
    } catch (err) {
      if (err instanceof SandboxEnded) {
        if (err.oomKills > 0) return runnerKilledForMemory(job);
        throw new TransportError(`process sandbox failed: ${err.message}`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      supervisor.forget(session);
    }
  }

  /** Ends the supervisor and every sandbox: jobs still running fail (for the worker: their entries stay pending). */
  async close(): Promise<void> {
    await this.supervisor?.close();
  }
}
