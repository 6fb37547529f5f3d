// The process transport: the runner on this host inside a bubblewrap sandbox (no network, own pid, ipc,
// uts and cgroup namespaces, read-only system directories, a /dev without ptys, private size-capped /tmp and
// workspace, only SETUID/SETGID kept) in a per-job cgroup. The embedded default where Docker is absent.
//
// With a warm pool (POOL_SIZE), sandboxes are set up ahead and their runner started, waiting for a job on
// stdin; a job takes one, fits its cgroup to the job's limits, and the sandbox is torn down after that one
// job like any other while the pool refills in the background.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { phaseClock } from '../../core/phaseClock.js';
import { runnerKilledForMemory } from '../../core/verdict.js';
import { collectRunnerOutput, jobDeadlineMs, runnerOutputCapBytes, runnerReady } from '../../core/protocol/runnerOutput.js';
import { requireRunnerBundle } from './runnerBundle.js';
import { createSandboxCgroup, reapCgroups, type SandboxCgroup } from './sandboxCgroup.js';
import { sandboxName, type SandboxOwner } from '../../core/sandboxOwner.js';
import { createSandboxTmpfs, reapTmpfs, type SandboxTmpfs } from './sandboxTmpfs.js';
import { TransportError } from '../../core/errors.js';
import { RUNNER_START_TIMEOUT_MS, sandboxBudget, type RunnerTransport, type SandboxSize, withTransportPhases } from './transport.js';
import { WarmPool } from './warmPool.js';

/** /etc entries the toolchains need; the rest of the host's /etc stays out of reach. */
const ETC_ENTRIES = ['ssl', 'alternatives', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'nsswitch.conf', 'passwd', 'group', 'localtime'];
const ETC_PREFIXES = ['java-', 'python3'];

export function bubblewrapAvailable(): boolean {
  return spawnSync('bwrap', ['--version'], { stdio: 'ignore' }).status === 0;
}

function systemMounts(): string[] {
  // Directories bwrap creates implicitly are root-only; the job's uid must traverse these.
  const args = ['/etc', '/opt', '/sys', '/sys/fs', '/sys/fs/cgroup'].flatMap((d) => ['--perms', '0755', '--dir', d]);
  args.push('--ro-bind', '/usr', '/usr');
  for (const dir of ['/bin', '/lib', '/lib64', '/sbin']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  const etc = readdirSync('/etc').filter((e) => ETC_ENTRIES.includes(e) || ETC_PREFIXES.some((p) => e.startsWith(p)));
  for (const e of etc) args.push('--ro-bind', `/etc/${e}`, `/etc/${e}`);
  return args;
}

/**
 * The sandbox's /dev, built here rather than with bubblewrap's --dev: that one mounts a devpts instance, and the
 * ptys of every devpts instance count against one host-wide limit (kernel.pty.max, /proc/sys/kernel/pty/nr),
 * so a job could take the host's terminals and every other sandbox's. This one has the usual character devices
 * bound from the host and the fd links, no pts, no ptmx, no shm, and is read-only.
 */
const SANDBOX_DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

function deviceMounts(): string[] {
  const args = ['--perms', '0755', '--size', '65536', '--tmpfs', '/dev'];
  for (const dev of SANDBOX_DEVICES) args.push('--dev-bind', `/dev/${dev}`, `/dev/${dev}`);
  args.push('--symlink', '/proc/self/fd', '/dev/fd');
  for (const [fd, name] of ['stdin', 'stdout', 'stderr'].entries()) args.push('--symlink', `/proc/self/fd/${fd}`, `/dev/${name}`);
  return [...args, '--remount-ro', '/dev'];
}

export function bubblewrapArgs(dist: string, cgroup: SandboxCgroup, tmpfs: SandboxTmpfs, startedAhead = false): string[] {
  return [
    '--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent', '--new-session', '--hostname', 'sandbox',
    '--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID',
    '--clearenv', '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'LANG', 'C.UTF-8',
    ...systemMounts(),
    '--proc', '/proc', ...deviceMounts(),
    '--bind', tmpfs.tmp, '/tmp',
    '--bind', tmpfs.workspace, '/workspace',
    '--ro-bind', dist, '/opt/runner',
    '--ro-bind', process.execPath, '/opt/node',
    // Only this job's own cgroups, where the runner reads its OOM and CPU counters.
    ...cgroup.binds.flatMap(([host, inside]) => ['--ro-bind', host, inside]),
    '--chdir', '/workspace',
    '/opt/node', '/opt/runner/runner.js', '--workspace', '/workspace', ...(startedAhead ? ['--started-ahead'] : []),
  ];
}

export interface ProcessTransportOptions {
  /** Sandboxes kept set up ahead with the runner started in them (0 or absent: every job sets up its own). */
  poolSize?: number;
  /** With a pool: the size pooled sandboxes start with (the size most jobs have); others are refitted when taken. */
  poolLimits?: SandboxSize;
  /** Told when preparing a pooled sandbox fails (jobs then set up their own). */
  onPoolError?: (err: Error) => void;
}

/** A sandbox set up with its runner started and waiting for a job on stdin. */
interface Prepared {
  child: ChildProcess;
  cgroup: SandboxCgroup;
  tmpfs: SandboxTmpfs;
  /** How the sandbox ended: its exit code or signal, or why it could not start. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
}

export class ProcessTransport implements RunnerTransport {
  readonly mode = 'process' as const;
  private readonly dist = requireRunnerBundle();
  private readonly active = new Set<number>();
  private readonly teardowns = new Set<Promise<void>>();
  private readonly pool: WarmPool<Prepared> | null;

  /** `owner`: on every sandbox's name (cgroups, tmpfs), for the reaper. */
  constructor(
    private readonly owner: SandboxOwner,
    opts: ProcessTransportOptions = {},
  ) {
    const { poolSize = 0, poolLimits } = opts;
    if (poolSize > 0 && !poolLimits) throw new Error('a process warm pool needs poolLimits (the size its sandboxes start with)');
    this.pool = poolSize > 0
      ? new WarmPool(poolSize, () => this.prepare('pooled', poolLimits!, true), (p) => this.teardown(p), opts.onPoolError ?? (() => {}))
      : null;
  }

  /** Pooled sandboxes ready for a job now. */
  get pooledReady(): number {
    return this.pool?.readyCount ?? 0;
  }

  async run(job: Job): Promise<RunOutcome> {
    const clock = phaseClock();
    let sandbox = this.pool?.take();
    const pooled = this.pool ? sandbox !== undefined : undefined;
    try {
      if (sandbox) sandbox.cgroup.setBudget(sandboxBudget(job));
      else sandbox = await this.prepare(job.id, job);
      clock.lap('sandboxMs');
      const outcome = await this.execute(sandbox, job);
      clock.lap('runnerMs');
      return withTransportPhases(outcome, clock, pooled);
    } catch (err) {
      if (err instanceof TransportError && sandbox && sandbox.cgroup.oomKills() > 0) return runnerKilledForMemory(job);
      throw err;
    } finally {
      // Not awaited: the result need not wait for the cgroup and tmpfs to go (close() does).
      if (sandbox) void this.teardown(sandbox);
    }
  }

  /**
   * Sets up a sandbox (tmpfs, cgroup sized for `size`) and starts the runner in it, waiting for its job; for
   * the pool, only resolves once the runner is loaded.
   */
  private async prepare(label: string, size: SandboxSize, awaitReady = false): Promise<Prepared> {
    const name = sandboxName(this.owner, `${label}-${randomBytes(4).toString('hex')}`);
    const tmpfs = await createSandboxTmpfs(name);
    let cgroup: SandboxCgroup;
    try {
      cgroup = createSandboxCgroup(name, sandboxBudget(size));
    } catch (err) {
      await tmpfs.remove();
      throw err;
    }
    // The shell joins the cgroup, then becomes bwrap: everything in the sandbox is born inside the budget.
    const child = spawn('/bin/sh', ['-c', 'for f in $CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec bwrap "$@"', 'sh', ...bubblewrapArgs(this.dist, cgroup, tmpfs, awaitReady)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CGROUP_PROCS: cgroup.procsFiles.join(' ') },
    });
    this.active.add(child.pid!);
    child.stdin!.on('error', () => {});
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.on('error', (error) => resolve({ code: null, signal: null, error }));
      child.on('close', (code, signal) => {
        this.active.delete(child.pid!);
        resolve({ code, signal });
      });
    });
    const prepared = { child, cgroup, tmpfs, closed };
    if (awaitReady) {
      try {
        await runnerReady(child.stderr!, RUNNER_START_TIMEOUT_MS);
      } catch (err) {
        await this.teardown(prepared);
        throw err;
      }
    }
    return prepared;
  }

  private execute({ child, closed }: Prepared, job: Job): Promise<RunOutcome> {
    const killAll = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killAll();
    }, jobDeadlineMs(job));
    const output = collectRunnerOutput(runnerOutputCapBytes(job), killAll);
    child.stdout!.on('data', output.onStdout);
    child.stderr!.on('data', output.onStderr);
    child.stdin!.end(JSON.stringify(job));
    // The result is read as soon as its line is complete; the sandbox's exit (pid namespace teardown) is
    // left to the teardown after the job.
    const ended = Promise.race([output.complete.then(() => null), closed]);
    return ended.then((exit) => {
      clearTimeout(timer);
      if (exit === null) return output.parse('result line');
      const { code, signal, error } = exit;
      if (error) throw new TransportError(`cannot start bubblewrap (${error.message}); install it with apt-get install bubblewrap`);
      if (timedOut) throw new TransportError(`process sandbox killed: no result within ${jobDeadlineMs(job)} ms`);
      if (code === 97) throw new TransportError('cannot join the job cgroup; run the worker as root');
      return output.parse(`bwrap exit ${code ?? signal}`);
    });
  }

  private teardown(sandbox: Prepared): Promise<void> {
    const done = (async () => {
      try {
        process.kill(-sandbox.child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await sandbox.closed;
      try {
        await sandbox.cgroup.remove();
      } finally {
        await sandbox.tmpfs.remove();
      }
    })().finally(() => this.teardowns.delete(done));
    this.teardowns.add(done);
    return done;
  }

  /**
   * Sandboxes die with their worker (bubblewrap --die-with-parent); their cgroups and tmpfs are left to remove,
   * this deployment's only: another deployment's owners are alive or not in a Redis this worker does not see.
   */
  async reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number> {
    const { deployment, ownerId } = this.owner;
    const isGone = async (owner: string) => owner !== ownerId && !(await isOwnerAlive(owner));
    return (await reapCgroups(deployment, isGone)) + (await reapTmpfs(deployment, isGone));
  }

  /** Drains the pool and kills the sandboxes of jobs still running: their entries stay pending for another worker. */
  async close(): Promise<void> {
    await this.pool?.close();
    for (const pid of this.active) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await Promise.allSettled([...this.teardowns]);
  }
}
