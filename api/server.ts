// The HTTP API service: one fastify app serving the native API (/v1), Judge0 CE 1.13.1 (root paths) and
// Piston v2 (/api/v2) over the job queue, with auth and a Redis-kept rate limit per token, OpenAPI at
// /openapi.json and /docs, /healthz /readyz /metrics, and the playground at /. Stateless: run any number.
import { randomBytes } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { RedisClient } from '../worker/redisConnection.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { OPEN_OWNER, ownerOf, RateLimiter, tokenAccepted, tokenOf } from './auth.js';
import { callbackSecret } from './callbackSignature.js';
import { CallbackDispatcher, type CallbackEvents } from './callbacks.js';
import type { ApiConfig } from './config.js';
import { languagesFrom, type ApiContext } from './context.js';
import { JobService } from './jobs.js';
import { judge0Routes } from './judge0Routes.js';
import { nativeRoutes } from './nativeRoutes.js';
import { pistonRoutes } from './pistonRoutes.js';
import { playgroundRoutes } from './playground.js';

/** Paths anyone may call: probes, metrics, docs and the playground page (its API calls carry the token). */
const PUBLIC = [/^\/$/, /^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/openapi\.json$/, /^\/docs(\/|$)/, /^\/playground\//];
/** How long a client may take to send its request: a slow sender cannot hold a connection open for ever. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Public paths the orchestrator's probes call: never rate-limited, so a busy address cannot fail them. */
const PROBES = /^\/(healthz|readyz)$/;

type Dialect = 'native' | 'piston' | 'judge0';
const dialectOf = (url: string): Dialect => (url.startsWith('/v1/') ? 'native' : url.startsWith('/api/v2/') ? 'piston' : 'judge0');

/** An error in the caller's dialect: native {error, details}, Piston {message}, Judge0 {error}. */
function problem(reply: FastifyReply, url: string, status: number, message: string, details: { path: string; message: string }[] = []) {
  const d = dialectOf(url);
  const body = d === 'native' ? { error: message, details } : d === 'piston' ? { message } : { error: message };
  return reply.code(status).send(body);
}

export interface ApiServerOptions {
  config: ApiConfig;
  /** A connection for plain (non-blocking) commands; waits duplicate it. */
  redis: RedisClient;
  log: Logger;
  callbackEvents?: CallbackEvents;
}

export interface ApiServer {
  app: FastifyInstance;
  /** The port it listens on (after listen). */
  port: number;
  listen(): Promise<number>;
  close(): Promise<void>;
}

export async function buildApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { config, redis, log } = options;
  const jobs = new JobService(redis, config);
  const signingKey = config.callbackSigningKey ?? randomBytes(32).toString('hex');
  if (!config.callbackSigningKey) log.warn('CALLBACK_SIGNING_KEY is not set: callback secrets are random per process, so replicas (and restarts) sign with different secrets');
  if (!config.tokens.length) log.warn('API_TOKENS is not set: the API is open to anyone who can reach it (as Judge0 is by default)');
  const ctx: ApiContext = { config, jobs, redis, log, callbackSecret: (owner) => callbackSecret(signingKey, owner), languages: languagesFrom(redis) };
  const limiter = config.rateLimitPerMinute > 0 ? new RateLimiter(redis, config.rateLimitPerMinute) : null;
  const callbacks = new CallbackDispatcher(redis, jobs, config, ctx.callbackSecret, log, options.callbackEvents);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'code_execution_api_' });
  const requests = new Counter({ name: 'code_execution_api_requests_total', help: 'HTTP requests by dialect and status code', labelNames: ['dialect', 'code'], registers: [registry] });
  const latency = new Histogram({ name: 'code_execution_api_request_seconds', help: 'HTTP request duration', labelNames: ['dialect'], buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60], registers: [registry] });
  new Gauge({
    name: 'code_execution_api_waiters', help: 'Requests blocked waiting for a result or streaming events (what MAX_WAITERS bounds)', registers: [registry],
    collect() {
      this.set(jobs.waiters);
    },
  });
  new Gauge({
    name: 'code_execution_api_queue_size', help: 'Jobs waiting or running (what MAX_QUEUE_SIZE bounds)', registers: [registry],
    async collect() {
      this.set(await jobs.queueSize().catch(() => -1));
    },
  });

  // requestTimeout bounds receiving a request (headers and body), not answering it: waits and streams are unaffected.
  const app = Fastify({ bodyLimit: config.bodyLimitBytes, requestTimeout: REQUEST_TIMEOUT_MS, logger: false, return503OnClosing: true, forceCloseConnections: true });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('caller', null as never);

  // Every body is read as JSON whatever its content type says: Piston's npm client sends text/plain, and
  // Judge0's clients sometimes none at all.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const e = new Error(`the body is not valid JSON: ${(err as Error).message}`) as Error & { statusCode: number };
      e.statusCode = 400;
      done(e, undefined);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    (req as { startedAt?: bigint }).startedAt = process.hrtime.bigint();
    void reply.header('access-control-allow-origin', '*');
    const path = req.url.split('?')[0];
    if (req.method === 'OPTIONS') {
      return reply.code(204).header('access-control-allow-methods', 'GET, POST, PUT, OPTIONS')
        .header('access-control-allow-headers', 'content-type, authorization, x-auth-token').send();
    }
    const token = tokenOf(req.headers, req.query);
    const owner = token === null ? OPEN_OWNER : ownerOf(token);
    // With tokens, budgets are the token's; on an open API any string is a "token", so they are the address's.
    req.caller = { owner, share: config.tokens.length ? owner : `ip-${req.ip}` };
    /** Counts the request against `bucket`; true when that answered 429. */
    const overLimit = async (bucket: string, per: string) => {
      if (!limiter) return false;
      const d = await limiter.hit(bucket);
      void reply.header('x-ratelimit-limit', d.limit).header('x-ratelimit-remaining', d.remaining).header('x-ratelimit-reset', d.resetSeconds);
      if (d.allowed) return false;
      void reply.header('retry-after', d.resetSeconds);
      problem(reply, path, 429, `rate limit exceeded: ${d.limit} requests per minute per ${per}; retry in ${d.resetSeconds} s`);
      return true;
    };
    // Callers without a token (public paths, refused tokens) count against their address: guessing tokens is
    // as limited as using one.
    if (PUBLIC.some((p) => p.test(path))) {
      if (!PROBES.test(path) && await overLimit(`ip-${req.ip}`, 'client address')) return reply;
      return;
    }
    if (config.tokens.length && (token === null || !tokenAccepted(token, config.tokens))) {
      if (await overLimit(`ip-${req.ip}`, 'client address')) return reply;
      // Judge0 answers a refused token with an empty 401.
      if (dialectOf(path) === 'judge0') return reply.code(401).send();
      return problem(reply, path, 401, 'unauthorized: send a token of API_TOKENS in X-Auth-Token or Authorization: Bearer');
    }
    if (await overLimit(req.caller.share, config.tokens.length ? 'token' : 'client address')) return reply;
  });

  app.addHook('onResponse', async (req, reply) => {
    const dialect = dialectOf(req.url);
    requests.inc({ dialect, code: String(reply.statusCode) });
    const started = (req as { startedAt?: bigint }).startedAt;
    if (started) latency.observe({ dialect }, Number(process.hrtime.bigint() - started) / 1e9);
  });

  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0];
    if (hasZodFastifySchemaValidationErrors(err)) {
      // A few are enough to fix a request; all of them could be millions (one per bad array element).
      const details = err.validation.slice(0, 20).map((v) => ({ path: v.instancePath.replace(/^\//, '').replaceAll('/', '.'), message: v.message ?? 'invalid' }));
      return problem(reply, path, 400, `invalid ${err.validationContext ?? 'request'}`, details);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem(reply, path, 413, `the body is over the limit of ${config.bodyLimitBytes} bytes (BODY_LIMIT_BYTES)`);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return problem(reply, path, err.statusCode, err.message);
    log.error('request failed', { method: req.method, path, error: err.message, stack: err.stack });
    return problem(reply, path, 500, 'internal error');
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    if (dialectOf(path) === 'judge0') return reply.code(404).send({ status: 404, error: 'Not Found' });
    return problem(reply, path, 404, `no route ${req.method} ${path}; see /docs`);
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'code-execution API', version: '1.0.0', description: 'Native (/v1), Judge0 CE 1.13.1-compatible (root paths) and Piston v2-compatible (/api/v2) APIs over the code-execution queue.' },
      components: { securitySchemes: { token: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' }, bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }, { bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } as object }, async () => app.swagger());

  app.get('/healthz', { schema: { hide: true } as object }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } as object }, async (_req, reply) => {
    if (redis.status !== 'ready') return reply.code(503).send({ ready: false, reason: `redis connection is ${redis.status}` });
    try {
      await Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('redis did not answer PING within 1000 ms')), 1000).unref())]);
      return { ready: true };
    } catch (err) {
      return reply.code(503).send({ ready: false, reason: (err as Error).message });
    }
  });
  app.get('/metrics', { schema: { hide: true } as object }, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  nativeRoutes(app, ctx);
  judge0Routes(app, ctx);
  pistonRoutes(app, ctx);
  playgroundRoutes(app);

  await callbacks.start();
  let port = 0;
  let closed: Promise<void> | null = null;
  const server: ApiServer = {
    app,
    get port() {
      return port;
    },
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      port = (app.server.address() as { port: number }).port;
      log.info('api listening', { port, host: config.host, open: config.tokens.length === 0, rateLimitPerMinute: config.rateLimitPerMinute, stream: config.streamKey });
      return port;
    },
    close() {
      closed ??= (async () => {
        await callbacks.close();
        await app.close();
      })();
      return closed;
    },
  };
  return server;
}
