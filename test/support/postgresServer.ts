// A real PostgreSQL for tests: initdb in a temp dir, `postgres` on a free port with its socket in that dir.
// PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user (the Debian
// package creates it) or else `nobody`, which owns the temp dir. With `tls`, it serves TLS with the given
// certificate and refuses TCP clients without it (as RDS with rds.force_ssl and Cloud SQL ENCRYPTED_ONLY do); the
// test's own connections then go through the Unix socket. With `listen` and `passwordClients` it also serves other
// addresses, where clients log in with a password as they do on a managed server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './freePort.js';
import { availableOrSkip } from './serviceCheck.js';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (TCP; with `tls`, clients must speak TLS). */
  url: string;
  port: number;
  /** Runs one query on a fresh connection. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Stops the server at once (fast shutdown: every client's connection drops); data stays for start(). */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The directory of initdb and postgres: PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function postgresBinDir(): string | null {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
    if (versions.length) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 ? join(which.stdout.trim(), '..') : null;
}

/**
 * true when PostgreSQL tests can run; false (after a loud warning) when they may be skipped; throws under CI,
 * where a missing PostgreSQL must fail the suite (scripts/install-deps.sh installs it).
 */
export function postgresAvailable(): boolean {
  return availableOrSkip('PostgreSQL', postgresBinDir() ? null : 'PostgreSQL binaries not found (install them: bash scripts/install-deps.sh postgresql, or set PG_BIN)');
}

/** uid/gid to run the server as: ourselves unless we are root. */
function serverIdentity(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  for (const name of ['postgres', 'nobody']) {
    const entry = passwd.find((f) => f[0] === name);
    if (entry) return { uid: Number(entry[2]), gid: Number(entry[3]) };
  }
  throw new Error('running as root, but neither a "postgres" nor a "nobody" user exists to run PostgreSQL as');
}

function run(bin: string, args: string[], as: { uid: number; gid: number } | null, cwd: string): void {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' }, ...(as ?? {}) });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
}

async function waitUntilUp(admin: pg.ClientConfig, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`postgres exited with ${proc.exitCode} while starting:\n${log()}`);
    const client = new pg.Client({ ...admin, connectionTimeoutMillis: 1000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s:\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface PostgresOptions {
  /** Serve TLS with this certificate (chain) and key, PEM, and refuse TCP clients without TLS. */
  tls?: { cert: string; key: string };
  /** Addresses to listen on besides 127.0.0.1 (e.g. the Docker bridge's gateway, for containers). */
  listen?: string[];
  /** TCP clients from these (pg_hba addresses: CIDRs, samehost) log in with a password (scram-sha-256), as on a managed server. */
  passwordClients?: string[];
}

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL binaries not found (bash scripts/install-deps.sh postgresql, or set PG_BIN)');
  const as = serverIdentity();
  const dir = mkdtempSync(join(tmpdir(), 'test-postgres-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  mkdirSync(sockets);
  if (as) {
    chownSync(dir, as.uid, as.gid);
    chownSync(sockets, as.uid, as.gid);
  }
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], as, dir);
  const tlsArgs: string[] = [];
  if (options.tls) {
    // The key must be the server user's and private, or PostgreSQL refuses to start.
    const files = { 'server.pem': options.tls.cert, 'server.key': options.tls.key };
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(data, name), content, { mode: 0o600 });
      if (as) chownSync(join(data, name), as.uid, as.gid);
    }
    tlsArgs.push('-c', 'ssl=on', '-c', 'ssl_cert_file=server.pem', '-c', 'ssl_key_file=server.key');
  }
  if (options.tls || options.passwordClients) {
    const tcp = options.tls ? 'hostssl' : 'host';
    const hba = join(data, 'pg_hba.conf');
    writeFileSync(hba, [
      'local all all trust',
      `${tcp} all all 127.0.0.1/32 trust`,
      `${tcp} all all ::1/128 trust`,
      ...(options.passwordClients ?? []).map((clients) => `${tcp} all all ${clients} scram-sha-256`),
      ...(options.tls ? ['hostnossl all all all reject'] : []),
      '',
    ].join('\n'));
    chmodSync(hba, 0o600);
    if (as) chownSync(hba, as.uid, as.gid);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // The test's own connections: over TCP unless the server wants TLS there, then over its Unix socket.
  const admin: pg.ClientConfig = options.tls ? { host: sockets, port, user: 'postgres', database: 'postgres' } : { connectionString: url };
  let proc: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    output = '';
    // Durability is not what these tests are about: no fsync keeps them fast on a busy machine.
    proc = spawn(join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-k', sockets, '-c', `listen_addresses=${['127.0.0.1', ...(options.listen ?? [])].join(',')}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', ...tlsArgs,
    ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' }, ...(as ?? {}) });
    const p = proc;
    p.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    p.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    await waitUntilUp(admin, p, () => output);
  };
  const halt = async (signal: NodeJS.Signals) => {
    const p = proc as ChildProcess | null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  };

  await start();
  return {
    url,
    port,
    async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      const client = new pg.Client(admin);
      await client.connect();
      try {
        return (await client.query<T>(sql, params)).rows;
      } finally {
        await client.end();
      }
    },
    async kill() {
      // Not SIGKILL: that leaves the postmaster's backends and shared memory behind. To a client a fast
      // shutdown looks the same: connections drop, new ones are refused.
      await halt('SIGINT');
    },
    start,
    async stop() {
      await halt('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
