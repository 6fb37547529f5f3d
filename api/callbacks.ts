// Callback delivery, by the API tier so workers need no egress. A job queued with a callback also gets an entry
// on API_CALLBACKS_STREAM; each replica claims entries through a consumer group, watches the claimed jobs'
// result announcements in one blocking XREAD (woken by its own stream when it claims more: nothing is polled),
// and delivers each result: our signed POST (retried with backoff on any failure) or Judge0's PUT (retried on
// network errors only, as Judge0 does).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { API_CALLBACKS_GROUP, API_CALLBACKS_STREAM, resultEventsKey } from '../worker/keys.js';
import type { Logger } from '../worker/logger.js';
import { getResult } from '../worker/resultStore.js';
import { signatureHeader } from './callbackSignature.js';
import { sendCallback } from './callbackRequest.js';
import type { ApiConfig } from './config.js';
import type { JobRecord, JobService } from './jobs.js';
import { DEFAULT_FIELDS, pickFields, submissionView } from './judge0Format.js';

type Entries = [string, [string, string[]][]][] | null;

export interface CallbackEvents {
  delivered?(jobId: string, status: number): void;
  failed?(jobId: string, reason: string): void;
}

export class CallbackDispatcher {
  private readonly consumer = `api-${randomUUID()}`;
  private readonly wakeKey = `code-execution:api:callback-wake:${this.consumer}`;
  /** Claimed jobs waiting for their result: job id → callback stream entry id. */
  private readonly watched = new Map<string, string>();
  private closing = false;
  private loops: Promise<void>[] = [];
  private readonly claimConn: Redis;
  /** A live replica reads at least this often: well inside the idle time after which it would count as gone. */
  private readonly readBlockMs: number;
  private readonly watchConn: Redis;
  /** Deliveries in flight, at most CALLBACK_CONCURRENCY, and the ones waiting for a slot. */
  private delivering = 0;
  private readonly waitingForSlot: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
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
        const claimed = (await this.redis.xclaim(API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, this.consumer, 0, ...pending.map((p) => p[0]))) as [string, string[]][];
        for (const [entryId, fields] of claimed) {
          const jobId = fields[fields.indexOf('job') + 1];
          if (jobId) this.watched.set(jobId, entryId);
        }
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
        for (const [entryId, fields] of entries) {
          const jobId = fields[fields.indexOf('job') + 1];
          if (jobId) this.watched.set(jobId, entryId);
          else await this.redis.xack(API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, entryId);
        }
        // The watch loop blocks on the jobs it knew: wake it to include the new ones.
        if (entries.length) this.log.debug('callbacks claimed', { count: entries.length });
        if (entries.length || adopted) await this.redis.xadd(this.wakeKey, 'MAXLEN', '1', '*', 'claimed', String(entries.length));
      } catch (err) {
        if (!this.closing) this.log.warn('callback claim failed', { error: (err as Error).message });
      }
    }
  }

  private async watchLoop(): Promise<void> {
    let wakeCursor = '$';
    while (!this.closing) {
      try {
        const jobs = [...this.watched.keys()];
        const keys = [this.wakeKey, ...jobs.map(resultEventsKey)];
        const ids = [wakeCursor, ...jobs.map(() => '0-0')];
        const reply = (await this.watchConn.xread('BLOCK', 30_000, 'STREAMS', ...keys, ...ids)) as Entries;
        for (const [key, entries] of reply ?? []) {
          if (key === this.wakeKey) {
            wakeCursor = entries[entries.length - 1][0];
            continue;
          }
          const jobId = jobs[keys.indexOf(key) - 1];
          const entryId = this.watched.get(jobId);
          this.watched.delete(jobId);
          if (entryId) void this.deliver(jobId, entryId);
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
    try {
      const [record, result] = await Promise.all([this.jobs.record(jobId), getResult(this.redis, jobId)]);
      if (!record?.callback || !result) return;
      await this.send(record, result);
    } catch (err) {
      this.log.warn('callback delivery failed', { job: jobId, error: (err as Error).message });
      this.events.failed?.(jobId, (err as Error).message);
    } finally {
      release();
      await this.redis.multi().xack(API_CALLBACKS_STREAM, API_CALLBACKS_GROUP, entryId).xdel(API_CALLBACKS_STREAM, entryId).exec().catch(() => {});
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
        if (!judge0) headers['x-signature'] = signatureHeader(this.secretFor(record.owner), body, Math.floor(Date.now() / 1000));
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
    await this.redis.del(this.wakeKey).catch(() => {});
  }
}
