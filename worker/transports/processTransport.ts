// The process transport: the runner on this host inside a bubblewrap sandbox (no network, own pid, ipc,
// uts and cgroup namespaces, read-only system directories, private size-capped /tmp and workspace, only
// SETUID/SETGID kept) in a per-job cgroup. The embedded default where Docker is absent.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import type { Job } from '../../runner/protocol/job.js';
import { COMPILE_MAX_PROCESSES, SANDBOX_OVERHEAD_MB, SANDBOX_OVERHEAD_TASKS } from '../../runner/protocol/limits.js';
import type { RunOutcome } from '../../runner/protocol/result.js';
import { runnerKilledForMemory } from '../../runner/verdict.js';
import { collectRunnerOutput } from './runnerOutput.js';
import { requireRunnerBundle } from './runnerBundle.js';
import { createSandboxCgroup, reapCgroups, sandboxName, type SandboxCgroup } from './sandboxCgroup.js';
import { createSandboxTmpfs, reapTmpfs, type SandboxTmpfs } from './sandboxTmpfs.js';
import { jobDeadlineMs, runnerOutputCapBytes, TransportError, type RunnerTransport } from './transport.js';

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

export function bubblewrapArgs(dist: string, cgroup: SandboxCgroup, tmpfs: SandboxTmpfs): string[] {
  return [
    '--unshare-net', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent', '--new-session', '--hostname', 'sandbox',
    '--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID',
    '--clearenv', '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'LANG', 'C.UTF-8',
    ...systemMounts(),
    '--proc', '/proc', '--dev', '/dev',
    '--bind', tmpfs.tmp, '/tmp',
    '--bind', tmpfs.workspace, '/workspace',
    '--ro-bind', dist, '/opt/runner',
    '--ro-bind', process.execPath, '/opt/node',
    // Only this job's own cgroups, where the runner reads its OOM and CPU counters.
    ...cgroup.binds.flatMap(([host, inside]) => ['--ro-bind', host, inside]),
    '--chdir', '/workspace',
    '/opt/node', '/opt/runner/runner.js', '--workspace', '/workspace',
  ];
}

export class ProcessTransport implements RunnerTransport {
  readonly mode = 'process' as const;
  private readonly dist = requireRunnerBundle();
  private readonly active = new Set<number>();

  constructor(private readonly ownerId: string) {}

  async run(job: Job): Promise<RunOutcome> {
    const name = sandboxName(this.ownerId, `${job.id}-${randomBytes(4).toString('hex')}`);
    const tmpfs = await createSandboxTmpfs(name);
    try {
      const cgroup = createSandboxCgroup(name, {
        memoryBytes: (job.memoryLimitMb + SANDBOX_OVERHEAD_MB) * 1024 * 1024,
        pidsMax: Math.max(job.maxProcesses, COMPILE_MAX_PROCESSES) + SANDBOX_OVERHEAD_TASKS,
      });
      try {
        return await this.runInSandbox(job, bubblewrapArgs(this.dist, cgroup, tmpfs), cgroup.procsFiles);
      } catch (err) {
        if (err instanceof TransportError && cgroup.oomKills() > 0) return runnerKilledForMemory(job);
        throw err;
      } finally {
        await cgroup.remove();
      }
    } finally {
      await tmpfs.remove();
    }
  }

  private runInSandbox(job: Job, bwrapArgs: string[], procsFiles: string[]): Promise<RunOutcome> {
    return new Promise((resolve, reject) => {
      // The shell joins the cgroup, then becomes bwrap: everything in the sandbox is born inside the budget.
      const child = spawn('/bin/sh', ['-c', 'for f in $CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec bwrap "$@"', 'sh', ...bwrapArgs], {
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CGROUP_PROCS: procsFiles.join(' ') },
      });
      this.active.add(child.pid!);
      let timedOut = false;
      const killAll = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killAll();
      }, jobDeadlineMs(job));
      const output = collectRunnerOutput(runnerOutputCapBytes(job), killAll);
      child.stdout.on('data', output.onStdout);
      child.stderr.on('data', output.onStderr);
      child.stdin.on('error', () => {});
      child.stdin.end(JSON.stringify(job));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new TransportError(`cannot start bubblewrap: ${e.message}; install it with apt-get install bubblewrap`));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        this.active.delete(child.pid!);
        if (timedOut) return reject(new TransportError(`process sandbox killed: no result within ${jobDeadlineMs(job)} ms`));
        if (code === 97) return reject(new TransportError('cannot join the job cgroup; run the worker as root'));
        try {
          resolve(output.parse(`bwrap exit ${code}`));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /** Sandboxes die with their worker (bubblewrap --die-with-parent); their cgroups and tmpfs are left to remove. */
  async reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number> {
    const isGone = async (owner: string) => owner !== this.ownerId && !(await isOwnerAlive(owner));
    return (await reapCgroups(isGone)) + (await reapTmpfs(isGone));
  }

  /** Kills the sandboxes of jobs still running: their entries stay pending for another worker. */
  async close(): Promise<void> {
    for (const pid of this.active) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}
