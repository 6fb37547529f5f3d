// The API's side of the job protocol: validate a job exactly as the workers will (same schema, same operator
// caps), map a client's id to an internal job id scoped by its token, queue it with XADD, and read its state
// from the result store and the job-starts stream. Nothing here runs code.
import { randomBytes } from 'node:crypto';
import { duplicateClient, type RedisClient } from '../worker/redisConnection.js';
import { jobSchema, JobRejected, parseJob, precheckJob, type Job } from '../core/protocol/job.js';
import type { JobResult } from '../core/protocol/result.js';
import { API_CALLBACKS_STREAM, apiIdKey, apiJobKey, v1ApiJobKey } from '../core/keys.js';
import { sampleQueue } from '../worker/queueDepth.js';
import { getResult, lastStart, waitForResult } from '../worker/resultStore.js';
import type { ApiConfig } from './config.js';

export const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export type Dialect = 'native' | 'judge0' | 'piston';

/** Where a finished job's result goes; `signed`: our POST with X-Signature, `judge0`: Judge0's PUT. */
export interface CallbackTarget {
  url: string;
  kind: 'signed' | 'judge0';
}

/** What the API keeps about a job it queued (apiJobKey), beside the job in the stream. */
export interface JobRecord {
  id: string;
  clientId: string;
  owner: string;
  dialect: Dialect;
  createdAt: string;
  callback?: CallbackTarget;
  /** The Judge0 request's own fields, echoed by `fields=*`. */
  judge0?: Record<string, unknown>;
}

export type JobState =
  | { status: 'queued' }
  | { status: 'running'; worker: string; attempts: number }
  | { status: 'finished'; result: JobResult };

export interface Problem {
  path: string;
  message: string;
}

/** A job the workers would reject: the API answers 422 and queues nothing. */
export class InvalidJob extends Error {
  constructor(readonly details: Problem[]) {
    super(details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; '));
    this.name = 'InvalidJob';
  }
}

export class QueueFull extends Error {
  constructor(readonly size: number, readonly max: number) {
    super('queue is full');
    this.name = 'QueueFull';
  }
}

/** Every blocking wait holds a Redis connection: past MAX_WAITERS a request gets an answer now instead. */
export class TooManyWaiters extends Error {
  constructor(readonly max: number, readonly variable: 'MAX_WAITERS' | 'MAX_WAITERS_PER_TOKEN' = 'MAX_WAITERS') {
    super(`too many requests${variable === 'MAX_WAITERS' ? '' : ' of this token'} are waiting for results (${variable}=${max}); read the result later`);
    this.name = 'TooManyWaiters';
  }
}

export class IdTaken extends Error {
  constructor(readonly clientId: string) {
    super(`id "${clientId}" is already in use`);
    this.name = 'IdTaken';
  }
}

// Takes a client id for a job: SET NX, so the first taker wins; answers 0 when another job holds it.
// Giving one back deletes it only while it still names that job.
const RELEASE_ID = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * The internal id: a bounded prefix of the client's id (readable in worker logs) and 128 random bits, so no
 * client can choose, guess or collide with another's job id.
 */
export function internalIdFor(clientId: string): string {
  return `${clientId.slice(0, 41)}-${randomBytes(16).toString('base64url')}`;
}

const CAPS_PREFIX = 'job over the operator caps: ';

/** A rejection's message as problems: one per cap exceeded, at the field it is about where it names one. */
function problemsOf(message: string): Problem[] {
  if (!message.startsWith(CAPS_PREFIX)) return [{ path: '', message }];
  return message.slice(CAPS_PREFIX.length).split('; ').map((part) => {
    const field = /^([A-Za-z]+)/.exec(part)?.[1] ?? '';
    const path = ['code', 'stdin', 'expectedOutput', 'args', 'files', 'testCases', 'timeLimitMs', 'wallTimeLimitMs', 'compileTimeLimitMs', 'memoryLimitMb', 'maxProcesses', 'maxOutputBytes'].includes(field) ? field : '';
    return { path, message: `over the operator caps: ${part}` };
  });
}

export class JobService {
  constructor(
    private readonly redis: RedisClient,
    private readonly config: ApiConfig,
  ) {}

  /**
   * The cheap checks (field count; counts of files, args and test cases; text sizes), before any schema walks
   * the input: a schema records an issue per bad element, so an unbounded array would cost memory per element.
   * Throws InvalidJob.
   */
  precheck(input: unknown): void {
    try {
      precheckJob(input, this.config.caps);
    } catch (err) {
      if (err instanceof JobRejected) throw new InvalidJob(problemsOf(err.message));
      throw err;
    }
  }

  /**
   * Validates a job input (its `id` set to the internal id) as the worker will: counts and sizes, the schema,
   * the operator caps, and the size of the entry it becomes (MAX_JOB_BYTES). Throws InvalidJob.
   */
  validate(input: Record<string, unknown>): Job {
    const caps = this.config.caps;
    try {
      precheckJob(input, caps);
      const parsed = jobSchema.safeParse(input);
      if (!parsed.success) {
        throw new InvalidJob(parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })));
      }
      const job = parseJob(input, caps);
      const bytes = Buffer.byteLength(JSON.stringify(job));
      if (bytes > caps.maxJobBytes) throw new JobRejected(`job over the operator caps: job bytes ${bytes} exceeds the cap ${caps.maxJobBytes} (MAX_JOB_BYTES)`, job.id);
      return job;
    } catch (err) {
      if (err instanceof JobRejected) throw new InvalidJob(problemsOf(err.message));
      throw err;
    }
  }

  /** Throws QueueFull when `count` more jobs would put the queue over MAX_QUEUE_SIZE. */
  async ensureRoom(count: number): Promise<void> {
    const q = await sampleQueue(this.redis, this.config.streamKey, this.config.consumerGroup);
    const size = q.lag + q.pending;
    if (size + count > this.config.maxQueueSize) throw new QueueFull(size, this.config.maxQueueSize);
  }

  async queueSize(): Promise<number> {
    const q = await sampleQueue(this.redis, this.config.streamKey, this.config.consumerGroup);
    return q.lag + q.pending;
  }

  /** Queues a validated job under its owner's client id; throws IdTaken when that owner already used the id. */
  async submit(job: Job, record: JobRecord): Promise<void> {
    await this.submitAll([{ job, record }]);
  }

  /**
   * Queues validated jobs, all or none: throws IdTaken (and queues nothing) when any id is already in use.
   * Step by step, each command on one key, so it runs on a Redis Cluster too: the ids are taken first (and given
   * back if one is in use or a later step fails before the jobs are sent), then the records, the callback
   * entries, and the jobs in one transaction on the stream. A job is never queued without its id, record and
   * callback; an API that stops between the steps leaves at worst ids taken for RESULT_TTL_SECONDS and callback
   * entries the dispatcher drops once it finds no record. Two batches racing for the same ids may both be refused.
   */
  async submitAll(jobs: { job: Job; record: JobRecord }[]): Promise<void> {
    const ttl = this.config.resultTtlSeconds;
    const idKeys = jobs.map(({ record }) => apiIdKey(record.owner, record.clientId));
    const taken: number[] = [];
    const callbacks: string[] = [];
    const undo = async () => {
      await Promise.all(taken.map((i) => this.redis.eval(RELEASE_ID, 1, idKeys[i], jobs[i].job.id).catch(() => 0)));
      if (callbacks.length) await this.redis.xdel(API_CALLBACKS_STREAM, ...callbacks).catch(() => 0);
    };
    try {
      for (const [i, { job, record }] of jobs.entries()) {
        if ((await this.redis.set(idKeys[i], job.id, 'EX', ttl, 'NX')) !== 'OK') throw new IdTaken(record.clientId);
        taken.push(i);
      }
      await Promise.all(jobs.map(({ job, record }) => this.redis.set(apiJobKey(job.id), JSON.stringify(record), 'EX', ttl)));
      for (const { job, record } of jobs) {
        if (record.callback) callbacks.push((await this.redis.xadd(API_CALLBACKS_STREAM, '*', 'job', job.id))!);
      }
    } catch (err) {
      await undo();
      throw err;
    }
    const queue = this.redis.multi();
    for (const { job } of jobs) queue.xadd(this.config.streamKey, '*', 'job', JSON.stringify(job));
    // A transaction that throws may have run with its answer lost: nothing is given back then. One that answers
    // with an error queued nothing.
    const queued = await queue.exec();
    const failed = queued ? queued.find(([err]) => err)?.[0] : new Error('the queue transaction was aborted');
    if (failed) {
      await undo();
      throw failed;
    }
  }

  /** The internal id of an owner's job, or null: another owner's ids are simply not found. */
  async resolve(owner: string, clientId: string): Promise<string | null> {
    if (!CLIENT_ID.test(clientId)) return null;
    return this.redis.get(apiIdKey(owner, clientId));
  }

  async record(jobId: string): Promise<JobRecord | null> {
    const raw = (await this.redis.get(apiJobKey(jobId))) ?? (await this.redis.get(v1ApiJobKey(jobId)));
    return raw === null ? null : (JSON.parse(raw) as JobRecord);
  }

  async state(jobId: string): Promise<JobState> {
    const result = await getResult(this.redis, jobId);
    if (result) return { status: 'finished', result };
    const start = await lastStart(this.redis, jobId);
    return start ? { status: 'running', worker: start.worker, attempts: start.attempts } : { status: 'queued' };
  }

  private waiting = 0;
  /** Blocking waits per share (Caller.share), so one token cannot hold every slot. */
  private readonly waitingOf = new Map<string, number>();

  /** How many blocking waits hold a connection now. */
  get waiters(): number {
    return this.waiting;
  }

  /** Throws TooManyWaiters when one more wait of `share` would be over MAX_WAITERS or MAX_WAITERS_PER_TOKEN. */
  ensureWaiterRoom(share: string): void {
    if (this.waiting >= this.config.maxWaiters) throw new TooManyWaiters(this.config.maxWaiters);
    if ((this.waitingOf.get(share) ?? 0) >= this.config.maxWaitersPerToken) throw new TooManyWaiters(this.config.maxWaitersPerToken, 'MAX_WAITERS_PER_TOKEN');
  }

  /** A connection of its own for one blocking wait of `share`, counted against the limits; `release` disconnects it. */
  waiter(share: string): { conn: RedisClient; release(): void } {
    this.ensureWaiterRoom(share);
    this.waiting++;
    this.waitingOf.set(share, (this.waitingOf.get(share) ?? 0) + 1);
    const conn = this.blockingConnection();
    let released = false;
    return {
      conn,
      release: () => {
        if (released) return;
        released = true;
        this.waiting--;
        const left = (this.waitingOf.get(share) ?? 1) - 1;
        if (left) this.waitingOf.set(share, left);
        else this.waitingOf.delete(share);
        conn.disconnect();
      },
    };
  }

  /** A connection of its own that may block (not counted: the API's own long-lived readers). */
  blockingConnection(): RedisClient {
    return duplicateClient(this.redis);
  }

  /** Blocks (XREAD on the result's announcement) up to `timeoutMs`; null: not finished by then. */
  async waitForResult(jobId: string, timeoutMs: number, share: string, aborted?: AbortSignal): Promise<JobResult | null> {
    const { conn, release } = this.waiter(share);
    aborted?.addEventListener('abort', release);
    try {
      return await waitForResult(conn, jobId, timeoutMs);
    } catch (err) {
      if (aborted?.aborted) return null;
      throw err;
    } finally {
      aborted?.removeEventListener('abort', release);
      release();
    }
  }
}
