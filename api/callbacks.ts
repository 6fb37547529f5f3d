// Callback delivery, by the API tier so workers need no egress. A job queued with a callback also gets an entry
// on API_CALLBACKS_STREAM; each replica claims entries through a consumer group, watches for the claimed jobs'
// results on the results feed (one blocking XREAD on one key, which a Redis Cluster allows, where a read of
// every job's own announcement would span hash slots; a job whose result was stored before it was claimed is
// found by looking), and delivers each result: our signed POST (retried with backoff on any failure) or Judge0's PUT (retried on
// network errors only, as Judge0 does).
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../worker/redisConnection.js';
import { API_CALLBACKS_GROUP, API_CALLBACKS_STREAM, RESULTS_FEED_KEY } from '../core/keys.js';
import type { Logger } from '../core/logger.js';
import { getResult, resultExists } from '../worker/resultStore.js';
import { SIGNATURE_HEADER, signatureHeader } from './callbackSignature.js';
import { sendCallback } from './callbackRequest.js';
import type { ApiConfig } from './config.js';
import type { JobRecord, JobService } from './jobs.js';
import { DEFAULT_FIELDS, pickFields, submissionView } from './judge0Format.js';

type Entries = [string, [string, string[]][]][] | null;

/** How often watched jobs are looked up directly (sweep). */
const FEED_SWEEP_MS = 30_000;

export interface CallbackEvents {
  delivered?(jobId: string, status: number): void;
  failed?(jobId: string, reason: string): void;
}

export class CallbackDispatcher {
  private readonly consumer = `api-${randomUUID()}`;
  /** Claimed jobs waiting for their result: job id → callback stream entry id. */
  private readonly watched = new Map<string, string>();
  private closing = false;
  private loops: Promise<void>[] = [];
  private readonly claimConn: RedisClient;
  /** A live replica reads at least this often: well inside the idle time after which it would count as gone. */
  private readonly readBlockMs: number;
  private readonly watchConn: RedisClient;
  /** Deliveries in flight, at most CALLBACK_CONCURRENCY, and the ones waiting for a slot. */
  private delivering = 0;
  private readonly waitingForSlot: (() => void)[] = [];
  /** The results feed read up to here; set before anything is claimed, so no result stored after a claim is missed. */
  private feedCursor = '0-0';

  constructor(
    private readonly redis: RedisClient,
    private readonly jobs: JobService,
    private readonly config: ApiConfig,
    private readonly secretFor: (owner: string) => string,
    private readonly log: Logger,
    private readonly events: CallbackEvents = {},
  ) {
    this.readBlockMs = Math.min(5000, Math.floor(config.callbackOrphanIdleMs / 2));
    this.claimConn = jobs.blockingConnection();
    this.watchConn = jobs.blockingConnection();
  }

  async start(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    const [last] = await this.redis.xrevrange(RESULTS_FEED_KEY, '+', '-', 'COUNT', 1);
    if (last) this.feedCursor = last[0];
    this.loops = [this.claimLoop(), this.watchLoop()];
  }

  /**
   * Takes over the claimed entries of replicas that stopped reading for CALLBACK_ORPHAN_IDLE_MS (a live one reads
   * at least every readBlockMs), so a replica that died while its jobs ran does not lose their callbacks.
   */
  private async adoptOrphans(): Promise<number> {
    let adopted = 0;
    const consumers = (await this.redis.xinfo('CONSUMERS', API_CALLBACKS_STREAM, API_CALLBACKS_GROUP)) as unknown[][];
    for (const flat of consumers) {
      const c: Record<string, unknown> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) c[String(flat[i])] = flat[i + 1];
      if (c.name === this.consumer || Number(c.idle) < this.config.callbackOrphanIdleMs) continue;
      const pending = (await this.redis.xpending(API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, '-', '+', 1000, String(c.name))) as [string][];
      if (pending.length) {
        const claimed = (await this.redis.call('XCLAIM', API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, this.consumer, 0, ...pending.map((p) => p[0]))) as [string, string[]][];
        await this.watch(claimed.flatMap(([entryId, fields]) => (fields.includes('job') ? [[fields[fields.indexOf('job') + 1], entryId] as [string, string]] : [])));
        adopted += claimed.length;
        this.log.info('callbacks adopted from a stopped replica', { from: c.name, count: claimed.length });
      }
      await this.redis.xgroup('DELCONSUMER', API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, String(c.name));
    }
    return adopted;
  }

  private async claimLoop(): Promise<void> {
    while (!this.closing) {
      try {
        const adopted = await this.adoptOrphans();
        const reply = (await this.claimConn.xreadgroup(
          'GROUP', API_CALLBACKS_GROUP, this.consumer, 'COUNT', 64, 'BLOCK', this.readBlockMs, 'STREAMS', API_CALLBACKS_STREAM, '>',
        )) as Entries;
        const entries = reply?.[0]?.[1] ?? [];
        const claimed: [string, string][] = [];
        for (const [entryId, fields] of entries) {
          const jobId = fields[fields.indexOf('job') + 1];
          if (jobId) claimed.push([jobId, entryId]);
          else await this.redis.xack(API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, entryId);
        }
        await this.watch(claimed);
        if (entries.length || adopted) this.log.debug('callbacks claimed', { count: entries.length, adopted });
      } catch (err) {
        if (!this.closing) this.log.warn('callback claim failed', { error: (err as Error).message });
      }
    }
  }

  /**
   * Watches claimed jobs: each delivered when its result is announced, or now when it is stored already. All are
   * watched before any is looked up, so a failed look leaves a job to the feed and the sweep, never unwatched.
   */
  private async watch(claimed: [jobId: string, entryId: string][]): Promise<void> {
    for (const [jobId, entryId] of claimed) this.watched.set(jobId, entryId);
    for (const [jobId] of claimed) {
      if (await resultExists(this.redis, jobId).catch(() => false)) this.take(jobId);
    }
  }

  /**
   * The sweep: watched jobs whose result is stored are delivered (the capped feed may have dropped their
   * announcement unread); entries whose job record is gone (expired, or an API that stopped mid-submission
   * before queueing the job) are acknowledged and dropped.
   */
  private async sweep(): Promise<void> {
    for (const [jobId, entryId] of [...this.watched]) {
      if (await resultExists(this.redis, jobId)) this.take(jobId);
      else if (!(await this.jobs.record(jobId))) {
        this.watched.delete(jobId);
        await this.acknowledge(entryId);
      }
    }
  }

  private async acknowledge(entryId: string): Promise<void> {
    await this.redis.multi().xack(API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, entryId).xdel(API_CALLBACKS_STREAM, entryId).exec().catch(() => {});
  }

  /** Delivers a watched job's callback once, whichever of the feed or a look finds its result first. */
  private take(jobId: string): void {
    const entryId = this.watched.get(jobId);
    if (!entryId) return;
    this.watched.delete(jobId);
    void this.deliver(jobId, entryId);
  }

  private async watchLoop(): Promise<void> {
    let lastSweep = Date.now();
    while (!this.closing) {
      try {
        const reply = (await this.watchConn.xread('COUNT', 1000, 'BLOCK', this.readBlockMs, 'STREAMS', RESULTS_FEED_KEY, this.feedCursor)) as Entries;
        for (const [entryId, fields] of reply?.[0]?.[1] ?? []) {
          this.feedCursor = entryId;
          const jobId = fields[fields.indexOf('job') + 1];
          if (jobId && this.watched.has(jobId)) this.take(jobId);
        }
        // The feed is capped: a replica that fell that far behind looks for its jobs' results instead.
        if (Date.now() - lastSweep > FEED_SWEEP_MS) {
          lastSweep = Date.now();
          await this.sweep();
        }
      } catch (err) {
        if (!this.closing) this.log.warn('callback watch failed', { error: (err as Error).message });
      }
    }
  }

  /** Waits for a delivery slot; the function it answers gives the slot to the next waiter, or back. */
  private async slot(jobId: string): Promise<() => void> {
    if (this.delivering < this.config.callbackConcurrency) this.delivering++;
    else {
      this.log.debug('callback waiting for a delivery slot', { job: jobId, delivering: this.delivering });
      await new Promise<void>((r) => this.waitingForSlot.push(r));
    }
    return () => {
      const next = this.waitingForSlot.shift();
      if (next) next();
      else this.delivering--;
    };
  }

  private async deliver(jobId: string, entryId: string): Promise<void> {
    const release = await this.slot(jobId);
    let finished = true;
    try {
      const [record, result] = await Promise.all([this.jobs.record(jobId), getResult(this.redis, jobId)]);
      if (!record?.callback || !result) return;
      await this.send(record, result);
    } catch (err) {
      // Stopping mid-delivery: left pending for another replica to adopt, not dropped.
      if (this.closing) finished = false;
      else {
        this.log.warn('callback delivery failed', { job: jobId, error: (err as Error).message });
        this.events.failed?.(jobId, (err as Error).message);
      }
    } finally {
      release();
      if (finished) await this.acknowledge(entryId);
    }
  }

  private async send(record: JobRecord, result: Awaited<ReturnType<typeof getResult>> & object): Promise<void> {
    const target = record.callback!;
    const judge0 = target.kind === 'judge0';
    const body = judge0
      ? JSON.stringify(pickFields(submissionView(record, { status: 'finished', result }), DEFAULT_FIELDS, true))
      : JSON.stringify({ ...result, id: record.clientId });
    let lastError = '';
    for (let attempt = 1; attempt <= this.config.callbackMaxTries; attempt++) {
      if (this.closing) break;
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'code-execution-api' };
        if (!judge0) headers[SIGNATURE_HEADER] = signatureHeader(this.secretFor(record.owner), body, Math.floor(Date.now() / 1000));
        // Checked again at delivery, by the connection's own lookup: a name may resolve elsewhere now.
        const status = await sendCallback(target.url, {
          method: judge0 ? 'PUT' : 'POST', headers, body, timeoutMs: this.config.callbackTimeoutMs, allowPrivate: this.config.callbackAllowPrivate,
        });
        // Judge0 counts any answer as delivered; ours wants a 2xx.
        if (judge0 || (status >= 200 && status < 300)) {
          this.log.info('callback delivered', { job: record.id, status, attempt });
          this.events.delivered?.(record.id, status);
          return;
        }
        lastError = `answered ${status}`;
      } catch (err) {
        lastError = (err as Error).message;
      }
      this.log.warn('callback attempt failed', { job: record.id, attempt, error: lastError });
      if (attempt < this.config.callbackMaxTries) await new Promise((r) => setTimeout(r, this.config.callbackRetryBaseMs * 2 ** (attempt - 1)));
    }
    throw new Error(`no delivery after ${this.config.callbackMaxTries} tries: ${lastError}`);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.claimConn.disconnect();
    this.watchConn.disconnect();
    await Promise.allSettled(this.loops);
  }
}
