// Results in PostgreSQL (when DATABASE_URL is set): one row per job in `submissions`, written after the Redis
// result and before the stream entry is acknowledged, first result wins (the same rule as Redis), so the
// table is a durable, queryable copy of what waiters saw. The schema comes from numbered migrations.
import pg from 'pg';
import type { JobResult } from '../core/protocol/result.js';
import type { Logger } from '../core/logger.js';
import { databaseConnection, databaseTlsProblem, type DatabaseTlsSettings } from './databaseTls.js';
import { redactedUrl } from './redisConnection.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append-only: a deployed migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create submissions',
    sql: `
      CREATE TABLE IF NOT EXISTS submissions (
        id          text PRIMARY KEY,
        status      text NOT NULL,
        language    text,
        result      jsonb NOT NULL,
        runner_mode text,
        worker      text,
        attempts    int,
        started_at  timestamptz,
        finished_at timestamptz,
        created_at  timestamptz DEFAULT now()
      )`,
  },
];

/** Any constant shared by every worker: concurrent starts apply each migration once. */
const MIGRATION_LOCK = 7_361_402_211;

/**
 * jsonb cannot hold U+0000, which a program may well print: it is stored as U+FFFD in PostgreSQL (the
 * Redis result keeps the original). Everything else is the Redis result as it is.
 */
export function resultJson(result: JobResult): string {
  return JSON.stringify(result, (_key, value: unknown) =>
    typeof value === 'string' && value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value,
  );
}

function timestamp(iso: string): string | null {
  return iso && !Number.isNaN(Date.parse(iso)) ? iso : null;
}

/**
 * The row can never be written (the data itself is refused: SQLSTATE class 22), so retrying is pointless.
 * Anything else (connection refused, timeouts, a restarting server) is worth a retry.
 */
export function isPermanentWriteError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}

/**
 * PostgreSQL could not be reached or is not accepting connections yet (network errors, timeouts, SQLSTATE
 * classes 08 and 57, too many connections): worth waiting for. Other errors (authentication, a missing
 * database, permissions, a certificate that does not verify: databaseTlsProblem) need a person.
 */
export function isUnreachable(err: unknown): boolean {
  if (databaseTlsProblem(err, '')) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return /^(08|57|53)/.test(code);
  return true;
}

export interface SubmissionStoreOptions {
  /** Connections in the pool. Defaults to 4. */
  poolSize?: number;
  /** Longest wait for a connection. Defaults to 5000 ms. */
  connectTimeoutMs?: number;
  /** Longest wait for one query: a hung server must not hold a job forever. Defaults to 15000 ms. */
  queryTimeoutMs?: number;
  /** The server's CA and name (DATABASE_CA_CERT, DATABASE_SERVER_NAME); DATABASE_URL's sslmode says whether to use TLS. */
  tls?: DatabaseTlsSettings;
}

export class SubmissionStore {
  private readonly pool: pg.Pool;
  private closed: Promise<void> | null = null;
  /** Why results cannot be recorded now, from the last write or check; null when the last one reached PostgreSQL. */
  private unreachable: string | null = null;
  /** The URL without its password, for messages. */
  readonly where: string;

  constructor(url: string, private readonly log: Logger, options: SubmissionStoreOptions = {}) {
    const o = { poolSize: 4, connectTimeoutMs: 5000, queryTimeoutMs: 15_000, ...options };
    this.where = redactedUrl(url);
    const { connectionString, ssl } = databaseConnection(url, o.tls);
    this.pool = new pg.Pool({
      connectionString,
      ssl,
      max: o.poolSize,
      connectionTimeoutMillis: o.connectTimeoutMs,
      query_timeout: o.queryTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: 'code-execution-worker',
    });
    // An idle connection dropped by a restarting server must not crash the worker; the next query reconnects.
    this.pool.on('error', (err) => this.log.warn('postgres connection lost', { error: err.message, database: this.where }));
  }

  /** Applies the migrations this database lacks, in order, under a lock. Returns the versions applied now. */
  async migrate(): Promise<number[]> {
    const client = await this.pool.connect();
    const applied: number[] = [];
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    int PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        applied.push(m.version);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    if (applied.length) this.log.info('database migrated', { applied, database: this.where });
    return applied;
  }

  /** Why results cannot be recorded now (PostgreSQL unreachable), as the last write or check found; null: they can. */
  unavailable(): string | null {
    return this.unreachable;
  }

  /** Asks PostgreSQL for one row within `timeoutMs`; returns (and remembers) why it cannot record results, or null. */
  async check(timeoutMs = 2000): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pool.query('SELECT 1'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
      this.unreachable = null;
    } catch (err) {
      this.noteFailure(err);
    } finally {
      clearTimeout(timer);
    }
    return this.unreachable;
  }

  private noteFailure(err: unknown): void {
    if (isUnreachable(err)) this.unreachable = `PostgreSQL at ${this.where} is unreachable: ${(err as Error).message}`;
  }

  /** Inserts the result unless a row for its id exists (first result wins). Returns true when inserted. */
  async upsert(result: JobResult): Promise<boolean> {
    try {
      const inserted = await this.insert(result);
      this.unreachable = null;
      return inserted;
    } catch (err) {
      this.noteFailure(err);
      throw err;
    }
  }

  private async insert(result: JobResult): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO submissions (id, status, language, result, runner_mode, worker, attempts, started_at, finished_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO NOTHING`,
      [
        result.id, result.status, result.language || null, resultJson(result), result.runnerMode,
        result.worker, result.attempts, timestamp(result.startedAt), timestamp(result.finishedAt),
      ],
    );
    return rowCount === 1;
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.pool.end();
    return this.closed;
  }
}
