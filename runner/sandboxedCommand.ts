// Runs one command of a job through the sandbox-exec launcher: stdin from a file, stdout and stderr
// captured up to a cap (the job is killed the moment a stream exceeds it), and the launcher's report of
// what the kernel measured read from a private fd the job never sees.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { WORKSPACE_STATES, type LauncherReport, type SandboxedRun, type SandboxLimits, type WorkspaceState } from '../core/protocol/launcherReport.js';

export interface SandboxedCommand {
  launcher: string;
  command: string[];
  cwd: string;
  uid: number;
  stdinPath: string | null;
  env: Record<string, string>;
  limits: SandboxLimits;
  /** Bytes kept per stream; more kills the job. */
  outputCapBytes: number;
  /** Directories the launcher removes what the command's uid owns from once it is over (`--wipe`). */
  wipe?: string[];
  /** A compile step: once it is over, what its uid made in `cwd` is locked for the cases (`--lock-compiled`). */
  lockCompiled?: boolean;
}

/** A run, and the state of the workspace the launcher found after it (`ok` unless it locked a compile step's output). */
export type LaunchedRun = SandboxedRun & { workspace: WorkspaceState };


export class LauncherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LauncherError';
  }
}

class CappedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  /** Returns false once the cap is exceeded. */
  push(chunk: Buffer): boolean {
    const room = this.cap - this.size;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size = this.cap;
      this.truncated = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function launcherArgs(c: SandboxedCommand): string[] {
  const l = c.limits;
  const args = [
    '--uid', String(c.uid), '--gid', String(c.uid),
    '--cpu-ms', String(l.cpuMs), '--wall-ms', String(l.wallMs),
    '--nproc', String(l.nproc), '--fsize', String(l.fsizeBytes),
    '--stack', String(l.stackBytes), '--nofile', String(l.nofile),
    '--report-fd', '3', '--cwd', c.cwd,
  ];
  for (const [k, v] of Object.entries(c.env)) args.push('--env', `${k}=${v}`);
  for (const dir of c.wipe ?? []) args.push('--wipe', dir);
  if (c.lockCompiled) args.push('--lock-compiled');
  return [...args, '--', ...c.command];
}

export function runSandboxed(c: SandboxedCommand): Promise<LaunchedRun> {
  const stdinFd = openSync(c.stdinPath ?? '/dev/null', 'r');
  return new Promise<LaunchedRun>((resolve, reject) => {
    const child = spawn(c.launcher, launcherArgs(c), {
      stdio: [stdinFd, 'pipe', 'pipe', 'pipe'],
      env: {},
    });
    closeSync(stdinFd);
    const stdout = new CappedBuffer(c.outputCapBytes);
    const stderr = new CappedBuffer(c.outputCapBytes);
    const interleaved = new CappedBuffer(c.outputCapBytes);
    const report: Buffer[] = [];
    let stopSent = false;
    const stop = () => {
      if (!stopSent) {
        stopSent = true;
        child.kill('SIGUSR1');
      }
    };
    const capture = (into: CappedBuffer) => (chunk: Buffer) => {
      interleaved.push(chunk);
      if (!into.push(chunk)) stop();
    };
    child.stdout!.on('data', capture(stdout));
    child.stderr!.on('data', capture(stderr));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => report.push(chunk));
    child.on('error', (err) => reject(new LauncherError(`cannot start the sandbox launcher ${c.launcher}: ${err.message}`)));
    child.on('close', (code) => {
      const text = Buffer.concat(report).toString('utf8').trim();
      if (code !== 0 || !text) {
        reject(new LauncherError(`sandbox launcher failed (exit ${code}): ${stderr.toBuffer().toString('utf8').slice(0, 500)}`));
        return;
      }
      const { workspace, ...launcherReport } = JSON.parse(text) as LauncherReport & { workspace?: string };
      resolve({
        report: launcherReport,
        // A state this runner does not know is a lock it cannot vouch for.
        workspace: WORKSPACE_STATES.find((s) => s === workspace) ?? 'lock_failed',
        stdout: stdout.toBuffer(),
        stderr: stderr.toBuffer(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        interleaved: interleaved.toBuffer(),
      });
    });
  });
}
