// A real worker as a child process (`code-exec worker`), so tests can SIGKILL and SIGTERM it.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimDeployment, workerDeployment } from './sandboxClaims.js';
import { RUNNER_IMAGE } from './services.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'code-exec.js');

export type LogLine = Record<string, unknown> & { msg: string };

export interface WorkerHandle {
  proc: ChildProcess;
  logs: LogLine[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Its deployment is claimed (sandboxClaims.ts): the leftover checks look at its sandboxes. */
export function startWorker(env: Record<string, string>): WorkerHandle {
  const deployment = workerDeployment(env);
  if (deployment) claimDeployment(deployment);
  return startLoggingProcess([CLI, 'worker'], env);
}

/** A Node process that logs JSON lines on stderr (a worker, or a script standing in for one). */
export function startLoggingProcess(args: string[], env: Record<string, string>): WorkerHandle {
  const proc = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LOG_LEVEL: 'debug', RUNNER_IMAGE, ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: 'unstructured', line });
      }
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs = 30_000, what = 'a log line') =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`worker did not log ${what} within ${timeoutMs} ms; its log:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    proc,
    logs,
    waitForLog,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}
