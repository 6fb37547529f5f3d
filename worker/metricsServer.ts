// The worker's HTTP endpoint (METRICS_PORT): GET /metrics for Prometheus, GET /healthz for the liveness probe
// (the process answers: its event loop runs; 503 when a configuration error keeps it from ever working), GET /readyz
// for the readiness probe (RedisClient answers PING, the runner can take a job, PostgreSQL, when there is one,
// answers a query, and the worker is claiming jobs, not starting or draining; the reason when not, e.g. what it waits
// for at start).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisClient } from './redisConnection.js';
import type { Logger } from '../core/logger.js';
import type { WorkerMetrics } from './metrics.js';
import type { WorkerState } from './streamConsumer.js';

const PING_TIMEOUT_MS = 1000;

export interface MetricsServerOptions {
  port: number;
  /** Defaults to every interface, where a kubelet's probes and Prometheus reach it. */
  host?: string;
  metrics: WorkerMetrics;
  worker: { readonly state: WorkerState };
  /** A non-blocking connection for PING. */
  redis: RedisClient;
  log: Logger;
  /** What keeps the worker from starting, if anything: a reason for /readyz; `fatal` (a configuration error) fails /healthz too. */
  problem?: () => StartupProblem | null;
  /** Asks the worker's other dependencies (its runner, PostgreSQL): why it cannot work now, or null. */
  checkDependencies?: () => Promise<string | null>;
}

export interface StartupProblem {
  reason: string;
  /** Nothing will change until a person does: a liveness failure too, so the platform shows it (ECS replaces the task). */
  fatal: boolean;
}

export interface MetricsServer {
  readonly port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

export type Readiness = { ready: true } | { ready: false; reason: string };

export async function readiness(
  worker: { readonly state: WorkerState },
  redis: RedisClient,
  problem?: StartupProblem | null,
  checkDependencies?: () => Promise<string | null>,
): Promise<Readiness> {
  if (problem) return { ready: false, reason: problem.reason };
  if (worker.state !== 'running') return { ready: false, reason: `worker is ${worker.state}` };
  const dependency = await checkDependencies?.();
  if (dependency) return { ready: false, reason: dependency };
  // Commands wait for a reconnect rather than fail (maxRetriesPerRequest: null): look at the connection first.
  if (redis.status !== 'ready') return { ready: false, reason: `redis connection is ${redis.status}` };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`redis did not answer PING within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS))),
    ]);
    return { ready: true };
  } catch (err) {
    return { ready: false, reason: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', `${JSON.stringify(body)}\n`);

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, worker, redis, log } = options;
  const problem = () => options.problem?.() ?? null;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'only GET' });
    switch (path) {
      case '/metrics':
        return send(res, 200, metrics.contentType, await metrics.render());
      case '/healthz': {
        const p = problem();
        if (p?.fatal) return json(res, 503, { status: 'misconfigured', state: worker.state, reason: p.reason });
        return json(res, 200, { status: 'ok', state: worker.state });
      }
      case '/readyz': {
        const r = await readiness(worker, redis, problem(), options.checkDependencies);
        return json(res, r.ready ? 200 : 503, r);
      }
      default:
        return json(res, 404, { error: `no ${path}; try /metrics, /healthz or /readyz` });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      log.warn('metrics endpoint failed', { path: req.url, error: err.message });
      if (!res.headersSent) json(res, 500, { error: err.message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  log.info('metrics endpoint listening', { port, paths: ['/metrics', '/healthz', '/readyz'] });
  let closed: Promise<void> | null = null;
  return {
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of a scraper would hold close() open.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
