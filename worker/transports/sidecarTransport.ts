// The sidecar transport (ECS/Fargate, a GKE pod): the worker hands each job to the runner sidecar through the
// shared directory (core/protocol/sidecarExchange.ts) and waits for its result file. The sidecar holds the
// sandboxes; this side only writes, waits and cleans up.
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { installedLanguagesOf, type InstalledLanguages } from '../../core/languageVersions.js';
import type { Job } from '../../core/protocol/job.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { CLAIM_FILE, HEARTBEAT_FILE, HEARTBEAT_STALE_MS, JOB_FILE, POLL_INTERVAL_MS, RESULT_FILE, writeAtomically, type SidecarReply } from '../../core/protocol/sidecarExchange.js';
import { jobDeadlineMs, parseRunnerOutput } from '../../core/protocol/runnerOutput.js';
import { ownerInName, sandboxName, type SandboxOwner } from '../../core/sandboxOwner.js';
import { TransportError } from '../../core/errors.js';
import type { RunnerTransport } from './transport.js';

/** Beyond the job's own deadline: the sidecar's start-up of the job and the result's way back. */
const DEADLINE_MARGIN_MS = 5000;

export class SidecarTransport implements RunnerTransport {
  readonly mode = 'sidecar' as const;
  private readonly mine = new Set<string>();

  /** `owner`: on every job directory's name, for the reaper. */
  constructor(
    private readonly dir: string,
    private readonly owner: SandboxOwner,
  ) {}

  /** Why no sidecar serves the directory, or null when one does. */
  sidecarProblem(): string | null {
    try {
      // lstat: only the sidecar's own file counts, not a link someone put in its place.
      const heartbeat = lstatSync(join(this.dir, HEARTBEAT_FILE));
      if (!heartbeat.isFile()) return `${join(this.dir, HEARTBEAT_FILE)} is not a regular file`;
      const age = Date.now() - heartbeat.mtimeMs;
      if (age > HEARTBEAT_STALE_MS) return `the runner sidecar's heartbeat in ${this.dir} is ${Math.round(age / 1000)} s old`;
      return this.notReadyBecause();
    } catch {
      return `no runner sidecar serves ${this.dir} (no heartbeat file); start it with \`code-exec sidecar\` or check the task's runner container`;
    }
  }

  /**
   * Why no job can be handed over now: no sidecar (not started yet, as while a new node pulls its image, or gone), a
   * stale one, or one that reports it is not ready (see notReadyBecause). The worker claims nothing meanwhile, so a
   * job waits in the queue instead of failing its deliveries into the dead letters.
   */
  unavailable(): string | null {
    return this.sidecarProblem();
  }

  /**
   * An alive sidecar that says it is not ready (its cleanup after a job failed: runner/sidecar/daemon.ts) takes no
   * job, so none is handed to it. A heartbeat without `ready` (an older sidecar) or unreadable just now counts as ready.
   */
  private notReadyBecause(): string | null {
    let beat: { ready?: unknown; problem?: unknown };
    try {
      beat = JSON.parse(readFileSync(join(this.dir, HEARTBEAT_FILE), 'utf8')) as typeof beat;
    } catch {
      return null;
    }
    if (typeof beat !== 'object' || beat === null || beat.ready !== false) return null;
    return `the runner sidecar serving ${this.dir} is not ready: ${typeof beat.problem === 'string' ? beat.problem : 'it gave no reason'}`;
  }

  /** What the sidecar said in its heartbeat (read each time: the sidecar may start, or be replaced, after the worker). */
  async languages(): Promise<InstalledLanguages | null> {
    try {
      const { languages } = JSON.parse(readFileSync(join(this.dir, HEARTBEAT_FILE), 'utf8')) as { languages?: unknown };
      return languages === undefined ? null : installedLanguagesOf(languages);
    } catch {
      return null;
    }
  }

  async run(job: Job): Promise<RunOutcome> {
    const problem = this.sidecarProblem();
    if (problem) throw new TransportError(problem);
    // No job id in the name: where the shared volume is listable by jobs, names tell them nothing.
    const name = sandboxName(this.owner, randomBytes(12).toString('hex'));
    const jobDir = join(this.dir, name);
    // The worker's own directory: no job uid can read it or write into it.
    mkdirSync(jobDir, { mode: 0o700 });
    this.mine.add(jobDir);
    try {
      writeAtomically(join(jobDir, JOB_FILE), JSON.stringify(job), 0o600);
      return await this.awaitReply(job, jobDir);
    } finally {
      rmSync(jobDir, { recursive: true, force: true });
      this.mine.delete(jobDir);
    }
  }

  /**
   * Waits while the job is queued (as long as the sidecar is alive: it may be busy with other jobs), then up
   * to the job's deadline once the sidecar has claimed it.
   */
  private async awaitReply(job: Job, jobDir: string): Promise<RunOutcome> {
    let claimedAt: number | null = null;
    let lastLivenessCheck = Date.now();
    for (;;) {
      if (existsSync(join(jobDir, RESULT_FILE))) return this.readReply(jobDir);
      if (!existsSync(jobDir)) throw new TransportError('the job directory vanished: a restarted sidecar dropped the job');
      const now = Date.now();
      if (claimedAt === null && existsSync(join(jobDir, CLAIM_FILE))) claimedAt = now;
      if (claimedAt !== null && now - claimedAt > jobDeadlineMs(job) + DEADLINE_MARGIN_MS) {
        throw new TransportError(`the runner sidecar gave no result within ${jobDeadlineMs(job) + DEADLINE_MARGIN_MS} ms`);
      }
      if (now - lastLivenessCheck >= 1000) {
        lastLivenessCheck = now;
        const problem = this.sidecarProblem();
        if (problem) throw new TransportError(problem);
      }
      await delay(POLL_INTERVAL_MS);
    }
  }

  private readReply(jobDir: string): RunOutcome {
    const text = readFileSync(join(jobDir, RESULT_FILE), 'utf8');
    let reply: SidecarReply;
    try {
      reply = JSON.parse(text) as SidecarReply;
    } catch {
      throw new TransportError(`the runner sidecar wrote an unreadable result: ${text.slice(0, 200)}`);
    }
    if ('error' in reply) throw new TransportError(`runner sidecar: ${reply.error}`);
    return parseRunnerOutput(JSON.stringify(reply.outcome), 'runner sidecar');
  }

  /**
   * Job directories of this deployment's workers that died: the sidecar may have answered them, nobody will
   * read it. Another deployment's (a directory shared more widely than one queue) are never touched.
   */
  async reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number> {
    let reaped = 0;
    for (const name of readdirSync(this.dir)) {
      const owner = ownerInName(name, this.owner.deployment);
      if (owner === null || owner === this.owner.ownerId || (await isOwnerAlive(owner))) continue;
      rmSync(join(this.dir, name), { recursive: true, force: true });
      reaped++;
    }
    return reaped;
  }

  /** Withdraws the jobs still waiting: the sidecar drops a reply nobody reads, the entries are retried. */
  async close(): Promise<void> {
    for (const jobDir of this.mine) rmSync(jobDir, { recursive: true, force: true });
  }
}
