// Runner sidecars for tests: the runner image's executor (--serve) as a container sharing the host's network with the
// test (the way a task's sidecar shares its task's network with the worker), read-only, with only the capabilities the
// stacks give it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { WORKSPACE_INODES, WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import { HEARTBEAT_FILE } from '../../core/protocol/sidecarExchange.js';
import { SHARED_DIR, SIDECAR_COMMAND } from '../../components/workerEnv.js';
import { testContainerName } from './sandboxClaims.js';
import { RUNNER_IMAGE } from './services.js';

export interface RunningSidecar {
  /** The shared directory, as the worker sees it. */
  dir: string;
  /** The sidecar's log so far. */
  log(): string;
  /** Its heartbeat as the worker reads it (runner/sandbox/executor.c), or null when there is none. */
  heartbeat(): { ready?: boolean; problem?: string } | null;
  /** Runs a shell script as root inside the sidecar's container: its stdout. */
  exec(script: string): string;
  /** Unmounts `path` in the container's mount namespace, from the host: the container may not. */
  unmount(path: string): void;
  /** Kills it outright, as a crash or a replaced task does: nothing of it runs any more; its volumes and shared directory stay. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface SidecarOptions {
  /** A shared directory to serve (a sidecar restarted on the same one); its owner removes it. Defaults to a new one. */
  dir?: string;
  /** Docker volumes by mount point (e.g. `/tmp`), in place of that path's tmpfs: they outlive the container. */
  volumes?: Record<string, string>;
  /** The container's environment (the stacks give it none: what a job must not see, for the battery). */
  env?: Record<string, string>;
  /** More `docker run` arguments. */
  dockerArgs?: string[];
  /** Another runner image (one built for a fault); defaults to RUNNER_IMAGE. */
  image?: string;
}

/**
 * The runner container's settings in the cloud stacks, reproduced here. /dev/shm is a small
 * tmpfs of its own, as a Fargate task's containers get one (64 MB, not configurable there).
 */
export const SIDECAR_CONTAINER_ARGS = [
  '--network', 'host', '--user', '0:0', '--read-only',
  '--cap-drop', 'ALL', '--cap-add', 'SETUID', '--cap-add', 'SETGID', '--cap-add', 'DAC_OVERRIDE', '--cap-add', 'FOWNER',
  '--security-opt', 'no-new-privileges', '--memory', '2g', '--memory-swap', '2g', '--pids-limit', '1024', '--cpus', '1',
  '--ipc', 'none', '--tmpfs', `/dev/shm:rw,nosuid,nodev,noexec,size=64m,nr_inodes=${WORKSPACE_INODES},mode=1777`,
  '--tmpfs', `/tmp:rw,nosuid,nodev,size=${WORKSPACE_SIZE_MB}m,nr_inodes=${WORKSPACE_INODES},mode=1777`,
  '--tmpfs', `/workspace:rw,nosuid,nodev,exec,size=${WORKSPACE_SIZE_MB}m,nr_inodes=${WORKSPACE_INODES},mode=1777`,
];

/** SIDECAR_CONTAINER_ARGS without the tmpfs of the mount points given, which get those volumes instead. */
function containerArgs(volumes: Record<string, string>): string[] {
  const args: string[] = [];
  for (let i = 0; i < SIDECAR_CONTAINER_ARGS.length; i++) {
    if (SIDECAR_CONTAINER_ARGS[i] === '--tmpfs' && SIDECAR_CONTAINER_ARGS[i + 1].split(':')[0] in volumes) {
      i++;
      continue;
    }
    args.push(SIDECAR_CONTAINER_ARGS[i]);
  }
  return [...args, ...Object.entries(volumes).flatMap(([at, volume]) => ['-v', `${volume}:${at}`])];
}

function readHeartbeat(dir: string): { ready?: boolean; problem?: string } | null {
  try {
    return JSON.parse(readFileSync(join(dir, HEARTBEAT_FILE), 'utf8')) as { ready?: boolean; problem?: string };
  } catch {
    return null;
  }
}

/** Waits for a heartbeat written after `since` (one an earlier sidecar left in a directory served again does not count). */
async function waitForHeartbeat(dir: string, since: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const at = Date.parse(String((readHeartbeat(dir) as { at?: unknown } | null)?.at));
    if (at >= since) return;
    if (Date.now() > deadline) throw new Error(`the sidecar did not start:\n${log()}`);
    await delay(50);
  }
}

/**
 * The runner image's executor serving a new shared directory (or `options.dir`), in a container named for this run
 * (sandboxClaims.ts), with the cloud stacks' runner settings.
 */
export async function startSidecar(options: SidecarOptions = {}): Promise<RunningSidecar> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sidecar-dir-'));
  const removeDir = () => {
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  const name = testContainerName('sidecar');
  // The image's entrypoint is the executor: the stacks' SIDECAR_COMMAND is its arguments here.
  const [entrypoint, ...args] = SIDECAR_COMMAND;
  execFileSync('docker', ['run', '-d', '--name', name, ...containerArgs(options.volumes ?? {}), ...(options.dockerArgs ?? []), '-v', `${dir}:${SHARED_DIR}`,
    ...Object.entries(options.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    '--entrypoint', entrypoint, options.image ?? RUNNER_IMAGE, ...args], { stdio: 'pipe' });
  // The sidecar logs on stderr, which `docker logs` gives back on its own stderr.
  const log = () => {
    const r = spawnSync('docker', ['logs', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return r.error ? String(r.error) : `${r.stdout}${r.stderr}`;
  };
  try {
    await waitForHeartbeat(dir, started, log);
  } catch (err) {
    // A sidecar that did not start leaves no container behind (nor holds a volume a test would remove).
    execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    removeDir();
    throw err;
  }
  let gone = false;
  return {
    dir,
    log,
    heartbeat: () => readHeartbeat(dir),
    exec(script) {
      return execFileSync('docker', ['exec', name, 'sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    },
    unmount(path) {
      const pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', name], { encoding: 'utf8' }).trim();
      execFileSync('nsenter', ['-t', pid, '-m', 'umount', path], { stdio: 'pipe' });
    },
    async kill() {
      execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      gone = true;
    },
    async stop() {
      if (!gone) {
        execFileSync('docker', ['stop', '-t', '10', name], { stdio: 'ignore' });
        execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      }
      removeDir();
    },
  };
}
