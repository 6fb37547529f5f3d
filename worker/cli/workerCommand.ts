// `code-exec worker`: runs a worker until SIGTERM/SIGINT, then drains and exits 0. Around it, what its
// environment asks for: the PostgreSQL schema (DATABASE_URL), S3 code (S3_BUCKET), the metrics and health
// endpoint (METRICS_PORT) and CloudWatch queue metrics (CLOUDWATCH_METRICS).
import type { RedisClient } from '../redisConnection.js';
import { CloudWatchPublisher } from '../cloudwatchPublisher.js';
import { LANGUAGE_VERSIONS_KEY } from '../../core/keys.js';
import { S3CodeSource } from '../codeSource.js';
import { databaseTlsOf, loadConfig } from '../config.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { WorkerMetrics } from '../metrics.js';
import { startMetricsServer, type StartupProblem } from '../metricsServer.js';
import { DatabaseConfigError, databaseTlsProblem } from '../databaseTls.js';
import { connectRedis } from '../redisConnection.js';
import { newInstanceId, StreamWorker } from '../streamConsumer.js';
import { isUnreachable, SubmissionStore } from '../submissionStore.js';
import { selectTransport } from '../transports/selectTransport.js';
import type { RunnerTransport } from '../transports/transport.js';

/**
 * Like Redis at start, an unreachable PostgreSQL is waited for (and said so, in the log and on /readyz). A TLS
 * failure is a configuration error (DatabaseConfigError: no retry can fix it); any other error stops the worker.
 */
async function migrateWhenReachable(store: SubmissionStore, log: Logger, stopping: () => boolean, waiting: (reason: string | null) => void): Promise<void> {
  for (let attempt = 1, delayMs = 500; ; attempt++, delayMs = Math.min(delayMs * 2, 10_000)) {
    try {
      await store.migrate();
      waiting(null);
      return;
    } catch (err) {
      const tls = databaseTlsProblem(err, store.where);
      if (tls) throw tls;
      if (stopping() || !isUnreachable(err)) throw new Error(`migrating PostgreSQL at ${store.where} failed: ${(err as Error).message}`);
      log.warn('postgres unreachable, retrying', { attempt, retryInMs: delayMs, database: store.where, error: (err as Error).message });
      waiting(`waiting for PostgreSQL at ${store.where} (attempt ${attempt}): ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/**
 * What the HTTP API shows of each language: the versions of the toolchains this worker's runner has (the host's in
 * process mode, the runner image's in docker mode, the sidecar's). Best effort: the worker runs without it.
 */
async function publishLanguageVersions(redis: RedisClient, transport: RunnerTransport, log: Logger): Promise<void> {
  const installed = await transport.languages();
  if (installed && Object.keys(installed).length) await redis.hset(LANGUAGE_VERSIONS_KEY, installed);
  log.info('language versions published', { runnerMode: transport.mode, versions: installed ?? 'unknown' });
}

export async function workerCommand(): Promise<number> {
  const config = loadConfig();
  const log = createLogger({ component: 'worker', worker: config.workerName });
  const instanceId = newInstanceId(config.workerName);
  const transport = await selectTransport(config, instanceId, log);
  const submissions = config.databaseUrl ? new SubmissionStore(config.databaseUrl, log, { tls: databaseTlsOf(config) }) : null;
  const codeSource = config.s3Bucket ? new S3CodeSource({ bucket: config.s3Bucket, region: config.s3Region, endpoint: config.s3Endpoint }) : null;
  const worker = new StreamWorker(config, instanceId, transport, log, { codeSource, submissions });
  // Its own connection: scrapes and probes must not queue behind the worker's commands.
  const observer = connectRedis({ url: config.redisUrl, cluster: config.redisCluster }, log, 'metrics');
  const queue = { redis: observer, streamKey: config.streamKey, consumerGroup: config.consumerGroup };
  const metrics = new WorkerMetrics(queue, log);
  metrics.observe(worker);
  const cloudwatch = config.cloudwatchMetrics
    ? new CloudWatchPublisher({ ...queue, namespace: config.cloudwatchNamespace, intervalMs: config.cloudwatchIntervalMs, region: config.awsRegion, log })
    : null;
  let stopping = false;
  let problem: StartupProblem | null = null;
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      stopping = true;
      log.info('shutdown requested', { signal });
      void worker.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // Up before the worker starts: liveness answers while it waits for Redis or PostgreSQL, readiness says why not.
  const server = config.metricsPort ? await startMetricsServer({
    port: config.metricsPort, metrics, worker, redis: observer, log,
    problem: () => problem,
    // The runner (a sidecar that is not there yet, say) and PostgreSQL: what would keep a claimed job from finishing.
    checkDependencies: async () => transport.unavailable?.() ?? (submissions ? await submissions.check() : null),
  }).catch((err: NodeJS.ErrnoException) => {
    // Several workers on one host (a pod has its own network namespace): the first one serves the port.
    if (err.code !== 'EADDRINUSE') throw err;
    log.warn('METRICS_PORT is in use; this worker serves no metrics or health endpoint (set METRICS_PORT to a free port, or 0)', { port: config.metricsPort });
    return null;
  }) : null;
  let exitCode = 0;
  try {
    if (submissions) {
      try {
        await migrateWhenReachable(submissions, log, () => stopping, (reason) => (problem = reason === null ? null : { reason, fatal: false }));
      } catch (err) {
        if (!(err instanceof DatabaseConfigError)) throw err;
        // No retry can fix it: the worker stays up, takes no job, and its probes and log say why until it is stopped.
        problem = { reason: err.message, fatal: true };
        log.error('database configuration error: this worker takes no job', { database: submissions.where, reason: err.reason, fix: err.fix });
        exitCode = 1;
      }
    }
    if (!stopping && exitCode === 0) {
      await worker.start();
      cloudwatch?.start();
      void publishLanguageVersions(observer, transport, log).catch((err: Error) => log.warn('could not publish language versions', { error: err.message }));
    }
    await stopped;
  } finally {
    await worker.close();
    await Promise.all([cloudwatch?.close(), server?.close(), submissions?.close()]);
    codeSource?.close();
    observer.disconnect();
  }
  return exitCode;
}
