// Runner sidecars for tests, in both postures the product supports: a daemon process on this host (bubblewrap
// sandboxes), and the runner image as a container sharing the host's network with the test (the way a task's
// sidecar shares its task's network with the worker), read-only, with only the capabilities it documents.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { WORKSPACE_INODES, WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import { HEARTBEAT_FILE } from '../../core/protocol/sidecarExchange.js';
import { DIST_DIR } from '../../core/runnerBundle.js';
import { RUNNER_IMAGE } from './services.js';

export type SidecarPosture = 'process' | 'container';

export interface RunningSidecar {
  /** The shared directory, as the worker sees it. */
  dir: string;
  /** The sidecar's log so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * The runner container's settings in the cloud stacks, reproduced for the container posture. /dev/shm is a small
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

async function waitForHeartbeat(dir: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!existsSync(join(dir, HEARTBEAT_FILE))) {
    if (Date.now() > deadline) throw new Error(`the sidecar did not start:\n${log()}`);
    await delay(50);
  }
}

export async function startSidecar(posture: SidecarPosture, env: Record<string, string> = {}): Promise<RunningSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-dir-'));
  if (posture === 'process') {
    let output = '';
    const child: ChildProcess = spawn(process.execPath, [join(DIST_DIR, 'sidecar.js')], {
      env: { PATH: process.env.PATH, SIDECAR_DIR: dir, SIDECAR_SANDBOX: 'bubblewrap', SIDECAR_CONCURRENCY: '2', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise((r) => child.once('exit', r));
    await waitForHeartbeat(dir, () => output);
    return {
      dir,
      log: () => output,
      async stop() {
        child.kill('SIGTERM');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `sidecar-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  const envArgs = Object.entries({ SIDECAR_DIR: '/shared', SIDECAR_SANDBOX: 'container', ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  execFileSync('docker', ['run', '-d', '--name', name, ...SIDECAR_CONTAINER_ARGS, '-v', `${dir}:/shared`, ...envArgs,
    '--entrypoint', 'node', RUNNER_IMAGE, '/opt/runner/sidecar.js'], { stdio: 'pipe' });
  const log = () => {
    try {
      return execFileSync('docker', ['logs', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
  };
  await waitForHeartbeat(dir, log);
  return {
    dir,
    log,
    async stop() {
      execFileSync('docker', ['stop', '-t', '10', name], { stdio: 'ignore' });
      execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
