// `code-exec migrate`: creates or updates the PostgreSQL schema (the `submissions` table) at DATABASE_URL,
// prints what it applied and exits 0. Workers with DATABASE_URL run the same migrations when they start.
import { databaseTlsOf, loadConfig } from '../config.js';
import { createLogger } from '../../core/logger.js';
import { databaseTlsProblem } from '../databaseTls.js';
import { isUnreachable, MIGRATIONS, SubmissionStore } from '../submissionStore.js';
import { UsageError } from './jobFromFile.js';

export async function migrateCommand(): Promise<number> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new UsageError('code-exec migrate needs DATABASE_URL, e.g. postgres://user:password@host:5432/database');
  const store = new SubmissionStore(config.databaseUrl, createLogger({ component: 'migrate' }), { tls: databaseTlsOf(config) });
  try {
    const applied = await store.migrate();
    const version = Math.max(...MIGRATIONS.map((m) => m.version));
    process.stdout.write(`${JSON.stringify({ database: store.where, applied, version })}\n`);
    return 0;
  } catch (err) {
    const tls = databaseTlsProblem(err, store.where);
    if (tls) throw new UsageError(tls.message);
    const what = isUnreachable(err) ? 'cannot reach PostgreSQL at' : 'migrating failed at';
    throw new UsageError(`${what} ${store.where}: ${(err as Error).message}`);
  } finally {
    await store.close();
  }
}
