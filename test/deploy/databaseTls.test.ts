// The workers' database over TLS with the server verified, against a real PostgreSQL that speaks only TLS under a
// private CA (as RDS and Cloud SQL do): `code-exec worker` started with the environment the aws stack gives its
// container (index.ts under mocks, the test's CA given as the operator's RDS CA bundle) and DATABASE_URL as the stack
// writes it (its host and credentials pointed at the test's server). Given the CA, the worker connects, is ready and
// stores results; without it, it is not ready and says why (TLS verification failed, what to set), rather than
// calling the server unreachable and retrying forever.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cloudSqlDatabaseUrl } from '../../components/gcp/database.js';
import type { JobResult } from '../../core/protocol/result.js';
import { loadConfig } from '../../worker/config.js';
import { databaseConnection, DatabaseConfigError } from '../../worker/databaseTls.js';
import { waitForResult } from '../../worker/resultStore.js';
import { reveal, runStack, TEST_CA_PEM, type StackRun } from '../pulumi/harness.js';
import { freePort } from '../support/freePort.js';
import { postgresAvailable } from '../support/postgresServer.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { dockerAvailable } from '../support/services.js';
import { startSidecar, type RunningSidecar } from '../support/sidecar.js';
import { startTlsPostgres, type TlsPostgres } from '../support/tlsPostgres.js';
import { startWorker, type LogLine, type WorkerHandle } from '../support/workerProcess.js';

// The stack's workers run in sidecar mode, and the sidecar is the runner image as a container.
const available = postgresAvailable() && (await dockerAvailable());
let db: TlsPostgres;
let redis: TestRedis;
let run: StackRun;
let sidecar: RunningSidecar;
const workers: WorkerHandle[] = [];

beforeAll(async () => {
  if (!available) return;
  // The stack's workers run in sidecar mode: a worker claims nothing while no sidecar serves.
  [db, redis, sidecar] = await Promise.all([startTlsPostgres(), startRedis(), startSidecar()]);
  // The operator's RDS CA bundle (code-execution:rdsCaBundleFile) is, here, the test's private CA.
  run = await runStack('aws', { 'code-execution:rdsCaBundleFile': db.caFile });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});
afterAll(async () => {
  await Promise.all([db?.stop(), redis?.stop(), sidecar?.stop()]);
});

/** The worker container's plain environment, as the stack's task definition has it. */
function stackWorkerEnv(): Record<string, string> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const [worker] = JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition', '-worker').inputs.containerDefinitions) as any[];
  return Object.fromEntries((worker.environment as { name: string; value: string }[]).map((e) => [e.name, e.value]));
}

/** DATABASE_URL as the stack writes it into its secret, pointed at the test's server (host, port, user, database). */
function stackDatabaseUrl(host = db.hostName): string {
  const url = new URL(reveal(run.one('aws:secretsmanager/secretVersion:SecretVersion', '-database-url').inputs.secretString) as string);
  url.hostname = host;
  url.port = String(db.port);
  url.username = 'postgres';
  url.password = '';
  url.pathname = '/postgres';
  return url.toString();
}

interface StartedWorker {
  handle: WorkerHandle;
  stream: string;
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** The first of: started, or an error or a retry logged on the way (so a failing start fails at once). */
  outcome(): Promise<LogLine>;
}

async function start(env: Record<string, string>): Promise<StartedWorker> {
  const stream = `tls-${randomUUID()}`;
  const metricsPort = await freePort();
  const handle = startWorker({
    ...env,
    REDIS_URL: redis.url,
    STREAM_KEY: stream,
    // The jobs below are rejected by the worker before any transport, but a sidecar must serve for it to claim them.
    SIDECAR_DIR: sidecar.dir,
    METRICS_PORT: String(metricsPort),
    READ_BLOCK_MS: '200',
    // No CloudWatch to publish to from this machine.
    CLOUDWATCH_METRICS: 'false',
  });
  workers.push(handle);
  return {
    handle,
    stream,
    async get(path) {
      const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    outcome: () =>
      handle.waitForLog((l) => l.msg === 'worker started' || l.level === 'error' || l.msg === 'postgres unreachable, retrying', 60_000, 'its start, or why not'),
  };
}

/**
 * A job the worker answers itself (over the operator's cap on CPU time): its result, in Redis, and its row in
 * PostgreSQL (written after Redis, before the entry is acknowledged).
 */
async function submitRejected(worker: StartedWorker): Promise<{ result: JobResult; row: Record<string, unknown> }> {
  const id = randomUUID();
  await redis.client.xadd(worker.stream, '*', 'job', JSON.stringify({ id, language: 'python', code: 'print(1)', timeLimitMs: 10_000_000 }));
  const waiter = redis.client.duplicate();
  try {
    const result = await waitForResult(waiter, id, 30_000);
    if (!result) throw new Error(`no result for ${id}`);
    for (const deadline = Date.now() + 10_000; ; ) {
      const [row] = await db.query('SELECT status, result FROM submissions WHERE id = $1', [id]);
      if (row) return { result, row };
      if (Date.now() > deadline) throw new Error(`no submissions row for ${id} within 10 s; the worker's log:\n${worker.handle.logs.map((l) => JSON.stringify(l)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    waiter.disconnect();
  }
}

describe.skipIf(!available)('the database over TLS under a private CA', () => {
  it('the aws stack verifies the server (sslmode=verify-full) and gives the worker the CA bundle of its config', () => {
    expect(new URL(stackDatabaseUrl()).searchParams.get('sslmode')).toBe('verify-full');
    expect(stackWorkerEnv().DATABASE_CA_CERT?.trim()).toBe(db.caPem.trim());
  });

  it('a worker given the CA (as the aws stack gives it) verifies the server, is ready, and stores results in PostgreSQL', async () => {
    const worker = await start({ ...stackWorkerEnv(), DATABASE_URL: stackDatabaseUrl() });
    const first = await worker.outcome();
    expect(first.msg, JSON.stringify(worker.handle.logs)).toBe('worker started');
    expect(await worker.get('/readyz')).toMatchObject({ status: 200, body: { ready: true } });
    const { result, row } = await submitRejected(worker);
    expect(result.status).toBe('rejected');
    expect(row).toMatchObject({ status: 'rejected', result: { id: result.id, status: 'rejected' } });
  });

  it('a worker connecting by IP address checks the name the certificate carries instead (DATABASE_SERVER_NAME, as Cloud SQL)', async () => {
    // The gcp stack's URL (by the instance's private IP) and what it gives the worker: the instance's server CA and
    // its identity. Without the name, the IP address is not what the certificate says.
    const url = cloudSqlDatabaseUrl('postgres', '', '127.0.0.1', 'postgres', db.port);
    const byIp = await start({ ...stackWorkerEnv(), DATABASE_URL: url, DATABASE_CA_CERT: db.caPem, DATABASE_SERVER_NAME: db.commonName });
    expect((await byIp.outcome()).msg, JSON.stringify(byIp.handle.logs)).toBe('worker started');
    expect((await submitRejected(byIp)).row).toMatchObject({ status: 'rejected' });

    const unnamed = await start({ ...stackWorkerEnv(), DATABASE_URL: url, DATABASE_CA_CERT: db.caPem });
    const why = await unnamed.outcome();
    expect(why).toMatchObject({ level: 'error', msg: 'database configuration error: this worker takes no job' });
    expect(String(why.reason)).toMatch(/TLS verification failed: the certificate of PostgreSQL at .*127\.0\.0\.1.* does not name/);
    expect(String(why.fix)).toMatch(/DATABASE_SERVER_NAME/);
  });

  it('a worker without the CA is not ready, and its /readyz, /healthz and log say why: TLS verification failed, set DATABASE_CA_CERT', async () => {
    const { DATABASE_CA_CERT: _withheld, ...env } = stackWorkerEnv();
    const worker = await start({ ...env, DATABASE_URL: stackDatabaseUrl() });
    const why = await worker.outcome();
    expect(why).toMatchObject({ level: 'error', msg: 'database configuration error: this worker takes no job' });
    expect(String(why.reason)).toMatch(/TLS verification failed: PostgreSQL at .* presented a certificate this worker does not trust/);
    expect(String(why.fix)).toMatch(/DATABASE_CA_CERT/);
    const ready = await worker.get('/readyz');
    expect(ready.status).toBe(503);
    expect(String(ready.body.reason)).toMatch(/TLS verification failed.*DATABASE_CA_CERT/s);
    const health = await worker.get('/healthz');
    expect(health).toMatchObject({ status: 503, body: { status: 'misconfigured' } });
    // Not mistaken for an unreachable server: no retry, and no job claimed.
    expect(worker.handle.logs.filter((l) => l.msg === 'postgres unreachable, retrying')).toEqual([]);
    await redis.client.xadd(worker.stream, '*', 'job', JSON.stringify({ id: randomUUID(), language: 'python', code: 'print(1)' }));
    expect(await redis.client.xlen(worker.stream)).toBe(1);
    const groups = (await redis.client.xinfo('GROUPS', worker.stream)) as unknown[];
    expect(groups).toEqual([]);
  });
});

describe("DATABASE_URL's sslmode, DATABASE_CA_CERT and DATABASE_SERVER_NAME", () => {
  const url = (query: string) => `postgres://u:p@db.example:5432/d${query}`;

  it('verify-full and require verify chain and name against the CA given (or Node\'s); the URL keeps no TLS parameter', () => {
    for (const mode of ['verify-full', 'require']) {
      const c = databaseConnection(url(`?sslmode=${mode}&application_name=w`), { ca: TEST_CA_PEM });
      expect(c).toMatchObject({ connectionString: url('?application_name=w'), tls: 'verified', ssl: { ca: TEST_CA_PEM, rejectUnauthorized: true } });
      expect((c.ssl as { checkServerIdentity?: unknown }).checkServerIdentity).toBeUndefined();
    }
    expect(databaseConnection(url('?sslmode=verify-full')).ssl).toEqual({ rejectUnauthorized: true });
    // DATABASE_CA_CERT alone asks for TLS; nothing at all is plain, as before.
    expect(databaseConnection(url(''), { ca: TEST_CA_PEM }).tls).toBe('verified');
    expect(databaseConnection(url('')).tls).toBe('off');
  });

  it('verify-ca needs a CA; no-verify is the explicit opt-out; disable contradicts a CA', () => {
    expect(() => databaseConnection(url('?sslmode=verify-ca'))).toThrow(DatabaseConfigError);
    expect(databaseConnection(url('?sslmode=verify-ca'), { ca: TEST_CA_PEM }).tls).toBe('chain-only');
    expect(databaseConnection(url('?sslmode=no-verify'))).toMatchObject({ tls: 'unverified', ssl: { rejectUnauthorized: false } });
    expect(() => databaseConnection(url('?sslmode=disable'), { ca: TEST_CA_PEM })).toThrow(/sslmode=disable/);
    expect(() => databaseConnection(url('?sslmode=bogus'))).toThrow(/sslmode=bogus/);
  });

  it('the worker refuses at start a DATABASE_CA_CERT that is no certificate, or settings that contradict each other', () => {
    const base = { DATABASE_URL: url('?sslmode=verify-full') };
    expect(loadConfig({ ...base, DATABASE_CA_CERT: TEST_CA_PEM, DATABASE_SERVER_NAME: 'p:i' })).toMatchObject({ databaseCaCert: TEST_CA_PEM, databaseServerName: 'p:i' });
    expect(() => loadConfig({ ...base, DATABASE_CA_CERT: 'not a certificate' })).toThrow(/DATABASE_CA_CERT holds no PEM certificate/);
    expect(() => loadConfig({ DATABASE_URL: url('?sslmode=disable'), DATABASE_CA_CERT: TEST_CA_PEM })).toThrow(/sslmode=disable/);
  });
});
