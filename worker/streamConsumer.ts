// The worker loop over the Redis Stream: at-least-once delivery with XREADGROUP, XACK only after the result
// is stored (in Redis, and in PostgreSQL when configured), XAUTOCLAIM of entries a crashed worker left
// behind, a dead letter after MAX_DELIVERIES. A job's slot is free again once its outcome is known: storing the
// result and the XACK go on behind it while the next job runs (shutdown still waits for them).
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redisConnection.js';
import { phaseClock } from '../core/phaseClock.js';
import { JobRejected, parseJob, type Job } from '../core/protocol/job.js';
import { outcomeWithoutRun, type JobResult, type RunOutcome } from '../core/protocol/result.js';
import { CodeSourceError, resolveCode, type CodeSource } from './codeSource.js';
import type { WorkerConfig } from './config.js';
import { sendToDeadLetter } from './deadLetter.js';
import { peekEntry, type PeekedEntry } from './entryPeek.js';
import { workerHeartbeatKey } from '../core/keys.js';
import type { Logger } from '../core/logger.js';
import { connectRedis } from './redisConnection.js';
import { announceFinished, announceStarted, getResult, storeResult } from './resultStore.js';
import { fitResult } from './resultSize.js';
import { trimAcknowledged } from './streamTrim.js';
import { isPermanentWriteError, type SubmissionStore } from './submissionStore.js';
import type { RunnerTransport } from './transports/transport.js';

type StreamEntry = [id: string, fields: string[]];

/** Who gets an answer when an entry is dead-lettered: its job's producer, when the id could be read. */
interface DeadLetterAnswer {
  id: string | null;
  language: string | undefined;
  status: 'rejected' | 'internal_error';
}

export interface WorkerEvents {
  'job:started': [{ id: string; entryId: string; attempts: number }];
  /**
   * Every result this worker stores and acknowledges: a run's outcome, a rejection, a dead letter's. Not
   * emitted for a run whose job already had a result (delivered twice): the first result stays.
   */
  'job:completed': [JobResult];
  'job:failed': [{ entryId: string; jobId: string | null; error: string }];
  'entry:dead': [{ entryId: string; reason: string }];
}

export interface StreamWorkerOptions {
  /** Where `codeKey` jobs get their code (S3_BUCKET). Without one such jobs are rejected. */
  codeSource?: CodeSource | null;
  /** A second home for every result (DATABASE_URL), written after Redis and before XACK. */
  submissions?: SubmissionStore | null;
}

export type WorkerState = 'starting' | 'running' | 'closing';

export function newInstanceId(workerName: string): string {
  return `${workerName}-${randomBytes(4).toString('hex')}`;
}

/** The id of a job whose JSON cannot be parsed, when it is still legible, so its producer gets an answer. */
function readableJobId(text: string | undefined): string | null {
  return text?.match(/"id"\s*:\s*"([A-Za-z0-9_-]{1,64})"/)?.[1] ?? null;
}

function fieldsOf(raw: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) fields[raw[i]] = raw[i + 1];
  return fields;
}

export class StreamWorker extends EventEmitter<WorkerEvents> {
  private readonly commands: RedisClient;
  private readonly blocking: RedisClient;
  /** Everything this worker is doing with an entry, up to its XACK: what shutdown waits for. */
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * Entries holding a job slot: a job's slot is released once its outcome is known, and its result is stored and
   * acknowledged behind it, so the next job runs meanwhile (MAX_CONCURRENT_JOBS bounds the jobs running).
   */
  private running = 0;
  /** Entry ids being handled here: XAUTOCLAIM may return one of them after a long Redis outage. */
  private readonly handling = new Set<string>();
  private closing = false;
  private started = false;
  private closed: Promise<void> | null = null;
  private loopDone: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private slotFreed: (() => void) | null = null;
  /** Why the runner could not take jobs when last asked (null: it could). */
  private cannotTakeJobs: string | null = null;

  constructor(
    private readonly config: WorkerConfig,
    /** Unique per process (see newInstanceId): the consumer name and the owner label on its containers. */
    readonly instanceId: string,
    private readonly transport: RunnerTransport,
    private readonly log: Logger,
    private readonly options: StreamWorkerOptions = {},
  ) {
    super();
    this.commands = connectRedis({ url: config.redisUrl, cluster: config.redisCluster }, log, 'commands');
    this.blocking = connectRedis({ url: config.redisUrl, cluster: config.redisCluster }, log, 'blocking-reads');
  }

  async start(): Promise<void> {
    await this.ensureGroup();
    await this.heartbeat();
    await this.reap();
    this.log.info('worker started', {
      consumer: this.instanceId, stream: this.config.streamKey, group: this.config.consumerGroup,
      runnerMode: this.transport.mode, maxConcurrentJobs: this.config.maxConcurrentJobs,
    });
    this.timers.push(setInterval(() => void this.heartbeat().catch(() => {}), Math.floor(this.config.heartbeatTtlMs / 3)));
    this.timers.push(setInterval(() => void this.recover(), Math.max(500, Math.floor(this.config.claimIdleMs / 2))));
    if (this.config.trimIntervalMs > 0) this.timers.push(setInterval(() => void this.trim(), this.config.trimIntervalMs));
    this.loopDone = this.readLoop();
    this.started = true;
  }

  /** For readiness probes: claiming only while 'running'. */
  get state(): WorkerState {
    return this.closing ? 'closing' : this.started ? 'running' : 'starting';
  }

  /** Stops claiming, lets in-flight jobs finish within SHUTDOWN_GRACE_MS, then releases everything. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearInterval(t);
    this.slotFreed?.();
    // Interrupts a blocked XREADGROUP at once; entries it had not returned stay in the stream.
    this.blocking.disconnect();
    await this.loopDone?.catch(() => {});
    const pending = this.inFlight.size;
    if (pending) this.log.info('waiting for in-flight jobs', { count: pending, graceMs: this.config.shutdownGraceMs });
    let graceTimer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.inFlight).then(() => true),
      new Promise<boolean>((r) => (graceTimer = setTimeout(() => r(false), this.config.shutdownGraceMs))),
    ]);
    clearTimeout(graceTimer);
    if (!finished) this.log.warn('grace period over; unfinished jobs stay pending for another worker', { count: this.inFlight.size });
    await this.transport.close();
    await this.commands.del(workerHeartbeatKey(this.instanceId)).catch(() => {});
    await this.forgetConsumerIfIdle();
    this.commands.disconnect();
    this.log.info('worker stopped', { consumer: this.instanceId });
  }

  /**
   * Deleting a consumer drops its pending entries for good, so only a consumer with none is deleted (an
   * XREADGROUP interrupted by shutdown may have handed us entries we never saw: they must stay reclaimable).
   */
  private async forgetConsumerIfIdle(): Promise<void> {
    const { streamKey, consumerGroup } = this.config;
    try {
      const mine = await this.commands.xpending(streamKey, consumerGroup, '-', '+', 1, this.instanceId);
      if ((mine as unknown[]).length === 0) await this.commands.xgroup('DELCONSUMER', streamKey, consumerGroup, this.instanceId);
    } catch {
      // Best effort: an idle consumer left in the group is only clutter in XINFO.
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.commands.xgroup('CREATE', this.config.streamKey, this.config.consumerGroup, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }

  private async heartbeat(): Promise<void> {
    await this.commands.set(workerHeartbeatKey(this.instanceId), new Date().toISOString(), 'PX', this.config.heartbeatTtlMs);
  }

  private async reap(): Promise<void> {
    try {
      const reaped = await this.transport.reapOrphans(async (owner) => (await this.commands.exists(workerHeartbeatKey(owner))) === 1);
      if (reaped) this.log.info('reaped leftover sandboxes', { count: reaped });
    } catch (err) {
      this.log.warn('sandbox reaper failed', { error: (err as Error).message });
    }
  }

  /** Acknowledged entries leave the stream; pending and undelivered ones never do (streamTrim.ts). */
  private async trim(): Promise<void> {
    try {
      await trimAcknowledged(this.commands, this.config.streamKey);
    } catch (err) {
      if (!this.closing) this.log.warn('trimming the stream failed', { error: (err as Error).message });
    }
  }

  /**
   * Slots for new entries: no more than MAX_CONCURRENT_JOBS running, and no more than as many again still storing
   * their results (so a slow Redis or PostgreSQL holds the claiming back instead of piling up finished jobs).
   */
  private freeSlots(): number {
    const max = this.config.maxConcurrentJobs;
    return Math.min(max - this.running, 2 * max - this.inFlight.size);
  }

  /**
   * Whether a job could be run and its result recorded now: the runner can take it, and PostgreSQL (when there is one)
   * answered its last write or check (asked again while it did not). Says so in the log when that changes.
   */
  private async canTakeJobs(): Promise<boolean> {
    const submissions = this.options.submissions;
    const reason = this.transport.unavailable?.() ?? (submissions?.unavailable() ? await submissions.check() : null);
    if (reason && reason !== this.cannotTakeJobs) this.log.warn('cannot take jobs now; claiming none until it can', { reason });
    if (!reason && this.cannotTakeJobs) this.log.info('taking jobs again');
    this.cannotTakeJobs = reason;
    return reason === null;
  }

  private async readLoop(): Promise<void> {
    let backoffMs = 100;
    while (!this.closing) {
      if (this.freeSlots() <= 0) {
        await new Promise<void>((r) => (this.slotFreed = r));
        continue;
      }
      if (!(await this.canTakeJobs())) {
        await new Promise((r) => setTimeout(r, Math.min(this.config.readBlockMs, 1000)));
        continue;
      }
      let reply: [string, StreamEntry[]][] | null;
      try {
        reply = (await this.blocking.xreadgroup(
          'GROUP', this.config.consumerGroup, this.instanceId,
          'COUNT', this.freeSlots(), 'BLOCK', this.config.readBlockMs,
          'STREAMS', this.config.streamKey, '>',
        )) as [string, StreamEntry[]][] | null;
        backoffMs = 100;
      } catch (err) {
        if (this.closing) break;
        const message = (err as Error).message;
        // A Redis that restarted without persistence has lost the group: recreate it and go on.
        if (message.includes('NOGROUP')) await this.ensureGroup().catch(() => {});
        else this.log.warn('reading the stream failed', { error: message, retryInMs: backoffMs });
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 5000);
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const entry of entries) this.track((release) => this.handle(entry, 1, release));
      }
    }
  }

  /** Runs `work` in a job slot it may release early (once its job's outcome is known); tracked until it ends. */
  private track(work: (releaseSlot: () => void) => Promise<void>): void {
    let holding = true;
    const release = () => {
      if (!holding) return;
      holding = false;
      this.running--;
      this.wakeReader();
    };
    this.running++;
    const tracked = work(release).catch((err: Error) => {
      // Nothing was acknowledged: the entry stays pending and is reclaimed later.
      this.log.error('handling an entry failed; it stays pending', { error: err.message });
    }).finally(() => {
      this.inFlight.delete(tracked);
      release();
      this.wakeReader();
    });
    this.inFlight.add(tracked);
  }

  private wakeReader(): void {
    const wake = this.slotFreed;
    this.slotFreed = null;
    wake?.();
  }

  /**
   * Claims entries idle longer than CLAIM_IDLE_MS (their worker died), up to the free slots. They are claimed
   * by id only: an entry delivered more than MAX_DELIVERIES times (it may crash every worker that reads it) is
   * dead-lettered from a bounded peek, and one over MAX_JOB_BYTES is rejected from it, before either is loaded.
   */
  private async recover(): Promise<void> {
    if (this.closing) return;
    await this.reap();
    const free = this.freeSlots();
    if (free <= 0 || !(await this.canTakeJobs())) return;
    try {
      const [, claimed, deleted] = (await this.commands.xautoclaim(
        this.config.streamKey, this.config.consumerGroup, this.instanceId,
        this.config.claimIdleMs, '0-0', 'COUNT', free, 'JUSTID',
      )) as [string, string[], string[]?];
      // Entries trimmed from the stream while pending can never run: acknowledge them away.
      for (const id of deleted ?? []) await this.ack(id);
      for (const entryId of claimed) {
        if (this.closing) break;
        if (this.handling.has(entryId)) {
          // Idle only because keepClaimed could not reach Redis for CLAIM_IDLE_MS: the job is still running here.
          this.log.info('an idle entry is still running here; not starting it twice', { entryId });
          continue;
        }
        // A claim by id does not count as a delivery: this one is the next.
        const attempts = (await this.deliveryCount(entryId)) + 1;
        this.log.info('reclaimed an idle entry', { entryId, deliveries: attempts });
        this.track((release) => this.handleReclaimed(entryId, attempts, release));
      }
    } catch (err) {
      if (!this.closing) this.log.warn('reclaiming idle entries failed', { error: (err as Error).message });
    }
  }

  private async handleReclaimed(entryId: string, attempts: number, releaseSlot: () => void): Promise<void> {
    this.handling.add(entryId);
    try {
      const log = this.log.child({ entryId });
      const peeked = await peekEntry(this.commands, this.config.streamKey, entryId);
      if (!peeked) return this.ack(entryId);
      if (attempts > this.config.maxDeliveries) return await this.overDelivered(entryId, peeked, attempts, log);
      if ((peeked.bytes.job ?? 0) > this.config.caps.maxJobBytes) return await this.oversized(entryId, peeked, attempts, log);
      // Counts this delivery and loads the entry.
      const entries = (await this.commands.call('XCLAIM', this.config.streamKey, this.config.consumerGroup, this.instanceId, 0, entryId)) as StreamEntry[];
      if (!entries[0]) return;
      await this.handleEntry(entries[0], attempts, releaseSlot);
    } finally {
      this.handling.delete(entryId);
    }
  }

  /** A redelivered entry whose result is stored: the steps after storing it, again (each is idempotent). */
  private async finishRedelivery(entryId: string, existing: JobResult, log: Logger): Promise<void> {
    log.info('result already stored; acknowledging the redelivery', { jobId: existing.id });
    await announceFinished(this.commands, existing.id, existing.status);
    await this.writeSubmission(existing);
    return this.ack(entryId);
  }

  /**
   * An entry that had its deliveries and no result: not parsed again (it may be what killed the workers
   * before), only its bookkeeping finished or its dead letter written.
   */
  private async overDelivered(entryId: string, peeked: PeekedEntry, attempts: number, log: Logger): Promise<void> {
    const id = readableJobId(peeked.fields.job);
    const existing = id ? await getResult(this.commands, id) : null;
    if (existing) return this.finishRedelivery(entryId, existing, log);
    const reason = `delivered ${attempts} times without a stored result (MAX_DELIVERIES=${this.config.maxDeliveries}); not read again, as it may be what stopped the workers that had it`;
    return this.deadLetter(entryId, peeked.fields, attempts, reason, { id, language: undefined, status: 'internal_error' }, log);
  }

  /** A job over MAX_JOB_BYTES, rejected from its first bytes without being parsed; dropped from the stream. */
  private async oversized(entryId: string, peeked: PeekedEntry, attempts: number, log: Logger): Promise<void> {
    const { maxJobBytes } = this.config.caps;
    const reason = `job over the operator caps: job bytes ${peeked.bytes.job} exceeds the cap ${maxJobBytes} (MAX_JOB_BYTES)`;
    const id = readableJobId(peeked.fields.job);
    log.info('job rejected', { jobId: id, reason });
    await this.reject(entryId, peeked.fields, attempts, id, undefined, reason);
    // Acknowledged and answered: nothing needs the producer's bytes any more.
    await this.commands.xdel(this.config.streamKey, entryId);
  }

  /** A rejected job: its producer gets a `rejected` result when its id is legible, else a dead letter. */
  private async reject(entryId: string, fields: Record<string, string>, attempts: number, id: string | null, language: unknown, reason: string): Promise<void> {
    if (!id) {
      await sendToDeadLetter(this.commands, this.config.streamKey, this.config.deadLetterMaxLen, { entryId, reason, fields, deliveries: attempts, worker: this.instanceId });
      return this.ack(entryId);
    }
    const rejected = this.result(id, typeof language === 'string' ? language : undefined, outcomeWithoutRun('rejected', reason), attempts, new Date());
    const stored = await this.record(rejected);
    await this.ack(entryId);
    if (stored) this.emit('job:completed', rejected);
  }

  /**
   * While a job runs, its entry's idle time is reset (XCLAIM to ourselves, JUSTID: no delivery counted), so
   * only entries of dead workers ever look idle, however long a job takes.
   */
  private keepClaimed(entryId: string): NodeJS.Timeout {
    return setInterval(() => {
      void this.commands
        .call('XCLAIM', this.config.streamKey, this.config.consumerGroup, this.instanceId, 0, entryId, 'JUSTID')
        .catch(() => {});
    }, Math.max(250, Math.floor(this.config.claimIdleMs / 3)));
  }

  private async deliveryCount(entryId: string): Promise<number> {
    const rows = (await this.commands.xpending(this.config.streamKey, this.config.consumerGroup, entryId, entryId, 1)) as [string, string, number, number][];
    return rows[0]?.[3] ?? 1;
  }

  private async ack(entryId: string): Promise<void> {
    await this.commands.xack(this.config.streamKey, this.config.consumerGroup, entryId);
  }

  private async handle(entry: StreamEntry, attempts: number, releaseSlot: () => void): Promise<void> {
    this.handling.add(entry[0]);
    try {
      await this.handleEntry(entry, attempts, releaseSlot);
    } finally {
      this.handling.delete(entry[0]);
    }
  }

  /** `releaseSlot`: called once the job's outcome is known; storing and acknowledging it go on outside the slot. */
  private async handleEntry([entryId, rawFields]: StreamEntry, attempts: number, releaseSlot: () => void): Promise<void> {
    const fields = fieldsOf(rawFields);
    const log = this.log.child({ entryId });
    const text = fields.job;
    const bytes = text === undefined ? 0 : Buffer.byteLength(text);
    if (bytes > this.config.caps.maxJobBytes) {
      return this.oversized(entryId, { fields: { ...fields, job: text!.slice(0, 4096) }, bytes: { job: bytes } }, attempts, log);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text ?? '');
    } catch {
      const reason = text === undefined ? 'entry has no "job" field' : 'the "job" field is not valid JSON';
      return this.deadLetter(entryId, fields, attempts, reason, { id: readableJobId(text), language: undefined, status: 'rejected' }, log);
    }
    let job: Job;
    try {
      job = parseJob(raw, this.config.caps);
    } catch (err) {
      if (!(err instanceof JobRejected)) throw err;
      log.info('job rejected', { jobId: err.jobId, reason: err.message });
      return this.reject(entryId, fields, attempts, err.jobId, (raw as { language?: unknown }).language, err.message);
    }
    // A crash (or a PostgreSQL outage) between storing the result and XACK: finish the job's bookkeeping. Only a
    // redelivery can find its result stored; a first delivery is not looked up (storing is first-wins, so the same
    // job XADDed twice runs twice and keeps the first result).
    const existing = attempts > 1 ? await getResult(this.commands, job.id) : null;
    if (existing) return this.finishRedelivery(entryId, existing, log);
    const installed = await this.transport.languages().catch((err: Error) => {
      log.warn('the runner cannot say which languages it has; the job is tried', { error: err.message });
      return null;
    });
    if (installed && !Object.hasOwn(installed, job.language)) {
      const reason = this.transport.languageRefusal?.(job.language)
        ?? `language "${job.language}" is not installed in this worker's runner (${this.transport.mode}); it has ${Object.keys(installed).join(', ') || 'none'}`;
      log.info('job rejected', { jobId: job.id, reason });
      return this.reject(entryId, fields, attempts, job.id, job.language, reason);
    }

    const startedAt = new Date();
    this.emit('job:started', { id: job.id, entryId, attempts });
    log.info('job started', { jobId: job.id, language: job.language, attempts });
    // Progress only: a job whose announcement is lost still runs. The job does not wait for it; its result does (so
    // that it comes after it, on a cluster too).
    const announced = announceStarted(this.commands, job.id, this.instanceId, attempts, this.config.resultTtlSeconds).catch(() => {});
    let outcome: RunOutcome;
    const keepAlive = this.keepClaimed(entryId);
    try {
      outcome = await this.transport.run(await resolveCode(job, this.options.codeSource, this.config.caps));
    } catch (err) {
      if (err instanceof JobRejected) {
        // The code object is missing or too big: the producer's mistake, final.
        log.info('job rejected', { jobId: job.id, reason: err.message });
        outcome = outcomeWithoutRun('rejected', err.message);
      } else {
        const where = err instanceof CodeSourceError ? 'fetching its code from S3' : 'the transport';
        return this.attemptFailed(entryId, fields, attempts, job, where, (err as Error).message, log);
      }
    } finally {
      clearInterval(keepAlive);
    }
    releaseSlot();
    if (outcome.status === 'internal_error') {
      // The runner says the platform failed (a launcher or compiler that cannot start, an error of its own):
      // like a transport failure, not final while deliveries are left; another attempt may run elsewhere.
      return this.attemptFailed(entryId, fields, attempts, job, 'the runner', `internal error: ${outcome.message}`, log);
    }
    const clock = phaseClock();
    const result = this.result(job.id, job.language, outcome, attempts, startedAt, installed?.[job.language]);
    await announced;
    const stored = await this.record(result);
    clock.lap('storeMs');
    await this.ack(entryId);
    clock.lap('ackMs');
    // The entry id is the Redis clock's ms at XADD: time queued and claimed.
    const phases = { claimMs: startedAt.getTime() - Number(entryId.split('-')[0]), ...outcome.phases, ...clock.phases };
    // The second run of a job delivered twice (or reclaimed from a worker taken for dead) stores nothing: no
    // job:completed for it (metrics count stored results), and `stored: false` in its log line.
    log.info('job completed', { jobId: job.id, status: result.status, timeMs: result.timeMs, wallTimeMs: result.wallTimeMs, attempts, stored, phases });
    if (stored) this.emit('job:completed', result);
  }

  /**
   * An attempt without a trustworthy outcome. While deliveries are left the entry stays pending (unacknowledged)
   * and is reclaimed after CLAIM_IDLE_MS; the last one sends it to the dead-letter stream with this failure.
   */
  private async attemptFailed(entryId: string, fields: Record<string, string>, attempts: number, job: Job, where: string, error: string, log: Logger): Promise<void> {
    this.emit('job:failed', { entryId, jobId: job.id, error });
    const { maxDeliveries } = this.config;
    if (attempts < maxDeliveries) {
      log.error(`job failed in ${where}; it stays pending for a retry`, { jobId: job.id, attempts, maxDeliveries, error });
      return;
    }
    const reason = `delivered ${attempts} times without a result (MAX_DELIVERIES=${maxDeliveries}); the last attempt failed in ${where}: ${error}`;
    return this.deadLetter(entryId, fields, attempts, reason, { id: job.id, language: job.language, status: 'internal_error' }, log);
  }

  private async deadLetter(entryId: string, fields: Record<string, string>, attempts: number, reason: string, answer: DeadLetterAnswer, log: Logger): Promise<void> {
    log.warn('entry sent to the dead-letter stream', { reason, jobId: answer.id });
    const result = answer.id ? this.result(answer.id, answer.language, outcomeWithoutRun(answer.status, reason), attempts, new Date()) : null;
    // Results first: should writing them fail, the entry is retried without a duplicate dead letter.
    const stored = result ? await this.record(result) : false;
    await sendToDeadLetter(this.commands, this.config.streamKey, this.config.deadLetterMaxLen, { entryId, reason, fields, deliveries: attempts, worker: this.instanceId });
    await this.ack(entryId);
    this.emit('entry:dead', { entryId, reason });
    if (result && stored) this.emit('job:completed', result);
  }

  private result(id: string, language: string | undefined, outcome: RunOutcome, attempts: number, startedAt: Date, languageVersion?: string): JobResult {
    // Phases go to the log (handleEntry), not into what clients read.
    const { phases: _logged, ...judged } = outcome;
    return fitResult({
      ...judged,
      id,
      language: typeof language === 'string' ? language : '',
      ...(languageVersion ? { languageVersion } : {}),
      runnerMode: outcome.status === 'rejected' ? null : this.transport.mode,
      worker: this.instanceId,
      attempts,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    }, this.config.caps.maxResultBytes);
  }

  /**
   * Stores the result first-wins in Redis, then copies the stored one (ours or the first) to PostgreSQL.
   * Returns true when ours was stored.
   */
  private async record(result: JobResult): Promise<boolean> {
    const stored = await storeResult(this.commands, result, this.config.resultTtlSeconds, { v1Keys: this.config.resultV1Keys });
    if (!stored) this.log.info('a result was already stored; keeping the first', { jobId: result.id });
    if (this.options.submissions) await this.writeSubmission(stored ? result : ((await getResult(this.commands, result.id)) ?? result));
    return stored;
  }

  /**
   * Throws when PostgreSQL cannot be reached: the entry then stays pending, and its redelivery finds the
   * Redis result and writes it here before acknowledging. A row PostgreSQL refuses outright (bad data)
   * would never be written: that is logged and the entry acknowledged.
   */
  private async writeSubmission(result: JobResult): Promise<void> {
    const submissions = this.options.submissions;
    if (!submissions) return;
    try {
      await submissions.upsert(result);
    } catch (err) {
      const error = (err as Error).message;
      if (isPermanentWriteError(err)) {
        this.log.error('PostgreSQL refuses this result; acknowledged without a submissions row', { jobId: result.id, error });
        return;
      }
      throw new Error(`writing result ${result.id} to PostgreSQL (${submissions.where}) failed: ${error}; the result is in Redis and is copied there when the entry is redelivered`);
    }
  }
}
