// Results in PostgreSQL, against a real server (initdb in a temp dir) and a real Redis: the migration, the
// first-wins upsert, and the worker writing each result after Redis and before XACK, so an outage or a
// crash in between loses nothing. A row's `result` equals the Redis result.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/protocol/result.js';
import { outcomeWithoutRun } from '../../core/protocol/result.js';
import { loadConfig } from '../../worker/config.js';
import { resultKey } from '../../core/keys.js';
import { createLogger } from '../../core/logger.js';
import { storeResult, waitForResult } from '../../worker/resultStore.js';
import { StreamWorker } from '../../worker/streamConsumer.js';
import { MIGRATIONS, SubmissionStore } from '../../worker/submissionStore.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../support/postgresServer.js';
import { recordingLogger, type RecordingLogger } from '../support/recordingLogger.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { ScriptedTransport } from '../support/scriptedTransport.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'code-exec.js');
const available = postgresAvailable();
const quiet = createLogger({}, 'error');

let redis: TestRedis;
let pg: TestPostgres;
let store: SubmissionStore;
let running: { worker: StreamWorker; log: RecordingLogger; transport: ScriptedTransport; stream: string }[] = [];

beforeAll(async () => {
  if (!available) return;
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
  store = new SubmissionStore(pg.url, quiet, { connectTimeoutMs: 2000 });
});
afterAll(async () => {
  await store?.close();
  await Promise.all([redis?.stop(), pg?.stop()]);
});
afterEach(async () => {
  await Promise.all(running.map((r) => r.worker.close()));
  running = [];
});

function result(id: string, fields: Partial<JobResult> = {}): JobResult {
  return {
    ...outcomeWithoutRun('accepted', 'ok'), id, language: 'python', runnerMode: 'process', worker: 'w-1', attempts: 1,
    startedAt: '2025-01-02T03:04:05.678Z', finishedAt: '2025-01-02T03:04:06.789Z', ...fields,
  };
}

async function row(id: string) {
  const rows = await pg.query('SELECT * FROM submissions WHERE id = $1', [id]);
  return rows[0] ?? null;
}

/** The Redis result as stored, parsed from its JSON text. */
async function redisResult(id: string): Promise<unknown> {
  return JSON.parse((await redis.client.get(resultKey(id)))!);
}

async function startWorker(env: Record<string, string> = {}) {
  const stream = `jobs-${randomUUID()}`;
  const config = loadConfig({ REDIS_URL: redis.url, STREAM_KEY: stream, READ_BLOCK_MS: '100', CLAIM_IDLE_MS: '1000', RUNNER_MODE: 'process', ...env });
  const log = recordingLogger();
  const transport = new ScriptedTransport();
  const worker = new StreamWorker(config, `test-${randomUUID().slice(0, 8)}`, transport, log, { submissions: store });
  await worker.start();
  const r = { worker, log, transport, stream };
  running.push(r);
  return r;
}

async function waitResult(id: string): Promise<JobResult> {
  const waiter = redis.client.duplicate();
  try {
    const r = await waitForResult(waiter, id, 20_000);
    if (!r) throw new Error(`no result for ${id}`);
    return r;
  } finally {
    waiter.disconnect();
  }
}

async function pending(stream: string): Promise<number> {
  return Number(((await redis.client.xpending(stream, 'execution-workers')) as [number])[0]);
}

describe.skipIf(!available)('submissions in PostgreSQL', () => {
  it('the migration creates the table once, versioned, even when workers start together', async () => {
    await pg.query('CREATE DATABASE migrations_race');
    const url = pg.url.replace(/\/postgres$/, '/migrations_race');
    const stores = [new SubmissionStore(url, quiet), new SubmissionStore(url, quiet), new SubmissionStore(url, quiet)];
    try {
      const applied = await Promise.all(stores.map((s) => s.migrate()));
      expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await stores[0].migrate()).toEqual([]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
    // The main database, as a worker would find it.
    await store.migrate();
    expect(await pg.query('SELECT version, name FROM schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    const columns = await pg.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'submissions' ORDER BY ordinal_position`,
    );
    expect(Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))).toEqual({
      id: 'text', status: 'text', language: 'text', result: 'jsonb', runner_mode: 'text', worker: 'text', attempts: 'integer',
      started_at: 'timestamp with time zone', finished_at: 'timestamp with time zone', created_at: 'timestamp with time zone',
    });
  });

  it('upsert keeps the first result, with its columns filled from it', async () => {
    const first = result('first-wins', { stdout: 'ünïcode ✓\n', exitCode: 0, timeMs: 13 });
    expect(await store.upsert(first)).toBe(true);
    expect(await store.upsert(result('first-wins', { status: 'internal_error', worker: 'w-2' }))).toBe(false);
    const r = await row('first-wins');
    expect(r.result).toEqual(first);
    expect(r).toMatchObject({ status: 'accepted', language: 'python', runner_mode: 'process', worker: 'w-1', attempts: 1 });
    expect((r.started_at as Date).toISOString()).toBe(first.startedAt);
    expect((r.finished_at as Date).toISOString()).toBe(first.finishedAt);
    expect(r.created_at).toBeInstanceOf(Date);
  });

  it('jsonb cannot hold U+0000: it is stored as U+FFFD, everything else unchanged', async () => {
    await store.upsert(result('nul-bytes', { stdout: 'a\u0000b', stderr: '\\u0000 literally' }));
    expect((await row('nul-bytes')).result).toEqual(result('nul-bytes', { stdout: 'a\uFFFDb', stderr: '\\u0000 literally' }));
  });

  it('code-exec migrate migrates DATABASE_URL and exits 0; without DATABASE_URL it says what it needs', async () => {
    await pg.query('CREATE DATABASE cli_migrate');
    const url = pg.url.replace(/\/postgres$/, '/cli_migrate');
    const cli = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, [CLI, 'migrate'], { env: { PATH: process.env.PATH!, ...env } }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const first = await cli({ DATABASE_URL: url });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ applied: [1], version: 1 });
    expect(JSON.parse((await cli({ DATABASE_URL: url })).stdout)).toMatchObject({ applied: [] });
    const none = await cli({});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/code-exec migrate needs DATABASE_URL/);
  });

  it('the worker writes each result to PostgreSQL, equal to the Redis result', async () => {
    await store.migrate();
    const { stream, log } = await startWorker();
    await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id: 'pg-accepted', language: 'python', code: 'print(1)' }));
    await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id: 'pg-rejected', language: 'malbolge', code: '(=<`#9]~6ZY32Vx' }));
    expect(await waitResult('pg-accepted')).toMatchObject({ status: 'accepted', stdout: 'ran pg-accepted\n' });
    expect(await waitResult('pg-rejected')).toMatchObject({ status: 'rejected' });
    await log.waitFor((l) => l.msg === 'job completed' && l.jobId === 'pg-accepted', 10_000, 'the completion');
    for (const id of ['pg-accepted', 'pg-rejected']) {
      const r = await row(id);
      expect(r.result).toEqual(await redisResult(id));
      expect(r.status).toBe((await redisResult(id) as JobResult).status);
    }
    expect(await pending(stream)).toBe(0);
  });

  it('PostgreSQL down: the entry is not acknowledged; once it is back, the redelivery copies the Redis result', async () => {
    await store.migrate();
    const { worker, stream, log, transport } = await startWorker();
    await pg.kill();
    try {
      await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id: 'pg-outage', language: 'python', code: 'print(1)' }));
      const failure = await log.waitFor((l) => l.msg === 'handling an entry failed; it stays pending', 20_000, 'the PostgreSQL failure');
      expect(failure).toMatchObject({ level: 'error', error: expect.stringMatching(/writing result pg-outage to PostgreSQL \(postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres\) failed: .*the result is in Redis/) });
      // Stored in Redis (waiters have it), still pending in the stream.
      expect(await waitResult('pg-outage')).toMatchObject({ status: 'accepted' });
      expect(await pending(stream)).toBe(1);
    } finally {
      await pg.start();
    }
    await log.waitFor((l) => l.msg === 'result already stored; acknowledging the redelivery' && l.jobId === 'pg-outage', 20_000, 'the redelivery');
    await waitFor(async () => (await pending(stream)) === 0, 'the acknowledgement');
    expect((await row('pg-outage')).result).toEqual(await redisResult('pg-outage'));
    // The job ran once: the redelivery only finished its bookkeeping.
    expect(transport.jobs.map((j) => j.id)).toEqual(['pg-outage']);
    expect(worker.state).toBe('running');
  });

  it('a worker that died between the Redis result and PostgreSQL: the next one writes the row before acknowledging', async () => {
    await store.migrate();
    const stream = `jobs-${randomUUID()}`;
    // What the dead worker did: claimed the entry and stored the Redis result, nothing more.
    await redis.client.xgroup('CREATE', stream, 'execution-workers', '0', 'MKSTREAM');
    await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id: 'pg-crash', language: 'python', code: 'print(1)' }));
    await redis.client.xreadgroup('GROUP', 'execution-workers', 'dead-worker', 'COUNT', 1, 'STREAMS', stream, '>');
    await storeResult(redis.client, result('pg-crash', { worker: 'dead-worker' }), 60);
    expect(await row('pg-crash')).toBeNull();
    const { log, transport } = await startWorker({ STREAM_KEY: stream });
    await log.waitFor((l) => l.msg === 'result already stored; acknowledging the redelivery' && l.jobId === 'pg-crash', 20_000, 'the reclaim');
    await waitFor(async () => (await pending(stream)) === 0, 'the acknowledgement');
    expect((await row('pg-crash')).result).toEqual(await redisResult('pg-crash'));
    expect(transport.jobs).toEqual([]);
  });
});

/** Polls a condition that no event announces (XACK), failing loudly after 10 s. */
async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
