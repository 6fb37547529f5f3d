// The native API under /v1: the job protocol's own fields in, its result out, plus progress as Server-Sent
// Events. Ids are the client's (or generated), scoped by the caller's token.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { z } from 'zod/v4';
import type { JobResult } from '../core/protocol/result.js';
import { getResult, PROGRESS_FROM_START, waitForProgress } from '../worker/resultStore.js';
import { CallbackRefused, checkCallbackTarget } from './callbackTarget.js';
import type { ApiContext } from './context.js';
import { CLIENT_ID, IdTaken, internalIdFor, InvalidJob, QueueFull, TooManyWaiters, type JobRecord, type Problem } from './jobs.js';
import { abortedWith } from './clientGone.js';
import type { Job } from '../core/protocol/job.js';

const TAGS = ['Native v1'];
const positive = z.number().int().positive();

export const nativeJobSchema = z.looseObject({
  id: z.string().regex(CLIENT_ID, 'id must be 1-64 characters of [A-Za-z0-9_-]').optional().describe('your id for the job; generated when absent'),
  language: z.string().describe('python, javascript, bash, c, cpp, java (GET /v1/languages)'),
  code: z.string().optional(),
  files: z.array(z.object({ name: z.string(), content: z.string() })).optional(),
  stdin: z.string().optional(),
  args: z.array(z.string()).optional(),
  expectedOutput: z.string().optional(),
  testCases: z.array(z.object({ stdin: z.string().optional(), expectedOutput: z.string().optional() })).optional(),
  stopOnFirstFailure: z.boolean().optional(),
  timeLimitMs: positive.optional(),
  wallTimeLimitMs: positive.optional(),
  memoryLimitMb: positive.optional(),
  maxProcesses: positive.optional(),
  maxOutputBytes: positive.optional(),
  compileTimeLimitMs: positive.optional(),
  callbackUrl: z.string().optional().describe('POSTed the result, signed (X-Signature), when the job finishes'),
});
type NativeJob = z.infer<typeof nativeJobSchema>;

const idParams = z.object({ id: z.string().max(64) });
const waitQuery = z.object({ wait: z.coerce.number().min(0).optional().describe('seconds to wait for the result (up to MAX_WAIT_SECONDS)') });

class HttpProblem extends Error {
  constructor(readonly statusCode: number, message: string, readonly details: Problem[] = []) {
    super(message);
  }
}

const send = (reply: FastifyReply, p: HttpProblem) => reply.code(p.statusCode).send({ error: p.message, details: p.details });

/** The result as its client knows the job: under the client's id. */
const clientResult = (result: JobResult, clientId: string) => ({ ...result, id: clientId });

export function nativeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const prepare = async (req: FastifyRequest, body: NativeJob, path: string): Promise<{ job: Job; record: JobRecord }> => {
    const { id: given, callbackUrl, ...fields } = body;
    if ('codeKey' in fields) throw new HttpProblem(422, 'invalid job', [{ path: `${path}codeKey`, message: 'codeKey is for producers inside the deployment; send code or files' }]);
    if (callbackUrl !== undefined) {
      try {
        await checkCallbackTarget(callbackUrl, ctx.config.callbackAllowPrivate);
      } catch (err) {
        if (err instanceof CallbackRefused) throw new HttpProblem(422, 'invalid callbackUrl', [{ path: `${path}callbackUrl`, message: err.message }]);
        throw err;
      }
    }
    const clientId = given ?? randomUUID();
    const id = internalIdFor(clientId);
    try {
      const job = ctx.jobs.validate({ ...fields, id });
      const record: JobRecord = {
        id, clientId, owner: req.caller.owner, dialect: 'native', createdAt: new Date().toISOString(),
        ...(callbackUrl ? { callback: { url: callbackUrl, kind: 'signed' as const } } : {}),
      };
      return { job, record };
    } catch (err) {
      if (err instanceof InvalidJob) throw new HttpProblem(422, 'invalid job', err.details.map((d) => ({ path: `${path}${d.path}`, message: d.message })));
      throw err;
    }
  };

  const queue = async (prepared: { job: Job; record: JobRecord }[]) => {
    try {
      await ctx.jobs.ensureRoom(prepared.length);
    } catch (err) {
      if (err instanceof QueueFull) throw new HttpProblem(503, 'queue is full');
      throw err;
    }
    try {
      await ctx.jobs.submitAll(prepared);
    } catch (err) {
      if (err instanceof IdTaken) {
        throw new HttpProblem(409, `${err.message}${prepared.length > 1 ? ': nothing was queued' : ''}`, [{ path: 'id', message: 'choose another id, or read the job with GET /v1/jobs/:id' }]);
      }
      throw err;
    }
  };

  const guarded = (handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      return await handler(req, reply);
    } catch (err) {
      if (err instanceof HttpProblem) return send(reply, err);
      throw err;
    }
  };

  /** Problems of the cheap checks of one job as the API sees it (callbackUrl is the API's, not the job's). */
  const prechecked = (raw: unknown, path: string): Problem[] => {
    const fields = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>), callbackUrl: undefined } : raw;
    try {
      ctx.jobs.precheck(fields);
      return [];
    } catch (err) {
      if (err instanceof InvalidJob) return err.details.map((d) => ({ path: `${path}${d.path}`, message: d.message }));
      throw err;
    }
  };

  // Before the schema: it records an issue per bad array element, so counts are bounded first, in O(1) each.
  const precheckOne: preValidationAsyncHookHandler = async (req, reply) => {
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    const problems = prechecked(body, '');
    if (problems.length) return send(reply, new HttpProblem(422, 'invalid job', problems));
  };
  const precheckBatch: preValidationAsyncHookHandler = async (req, reply) => {
    const jobs = (req.body as { jobs?: unknown } | null | undefined)?.jobs;
    if (!Array.isArray(jobs)) return;
    if (jobs.length > ctx.config.maxBatchSize) return send(reply, new HttpProblem(400, `at most ${ctx.config.maxBatchSize} jobs per batch (MAX_BATCH_SIZE)`));
    const problems = jobs.flatMap((j, i) => prechecked(j, `jobs.${i}.`));
    if (problems.length) return send(reply, new HttpProblem(422, 'invalid batch: nothing was queued', problems));
  };

  app.post('/v1/jobs', { schema: { tags: TAGS, summary: 'Queue a job', body: nativeJobSchema }, preValidation: precheckOne }, guarded(async (req, reply) => {
    const p = await prepare(req, req.body as NativeJob, '');
    await queue([p]);
    return reply.code(202).send({ id: p.record.clientId });
  }));

  const batchBody = z.object({ jobs: z.array(nativeJobSchema).min(1) });
  app.post('/v1/jobs/batch', { schema: { tags: TAGS, summary: 'Queue several jobs: all or none', body: batchBody }, preValidation: precheckBatch }, guarded(async (req, reply) => {
    const { jobs } = req.body as z.infer<typeof batchBody>;
    if (jobs.length > ctx.config.maxBatchSize) throw new HttpProblem(400, `at most ${ctx.config.maxBatchSize} jobs per batch (MAX_BATCH_SIZE)`);
    const ids = jobs.map((j) => j.id).filter(Boolean);
    if (new Set(ids).size !== ids.length) throw new HttpProblem(422, 'invalid batch', [{ path: 'jobs', message: 'ids must be unique' }]);
    const problems: Problem[] = [];
    const prepared = [];
    for (const [i, j] of jobs.entries()) {
      try {
        prepared.push(await prepare(req, j, `jobs.${i}.`));
      } catch (err) {
        if (err instanceof HttpProblem) problems.push(...err.details);
        else throw err;
      }
    }
    if (problems.length) throw new HttpProblem(422, 'invalid batch: nothing was queued', problems);
    await queue(prepared);
    return reply.code(202).send({ jobs: prepared.map((p) => ({ id: p.record.clientId })) });
  }));

  const owned = async (req: FastifyRequest) => {
    const { id: clientId } = req.params as z.infer<typeof idParams>;
    const id = await ctx.jobs.resolve(req.caller.owner, clientId);
    if (!id) throw new HttpProblem(404, `no job "${clientId}"`, [{ path: 'id', message: 'unknown id (ids are per token)' }]);
    return { id, clientId };
  };

  app.get('/v1/jobs/:id', { schema: { tags: TAGS, summary: 'The result, or {status: queued|running}', params: idParams, querystring: waitQuery } }, guarded(async (req, reply) => {
    const { id, clientId } = await owned(req);
    const { wait } = req.query as z.infer<typeof waitQuery>;
    if (wait) {
      try {
        const r = await ctx.jobs.waitForResult(id, Math.ceil(Math.min(wait, ctx.config.maxWaitSeconds) * 1000), req.caller.share, abortedWith(reply));
        if (r) return clientResult(r, clientId);
      } catch (err) {
        // Too many waiting: the state now, which is what a wait that timed out answers too.
        if (!(err instanceof TooManyWaiters)) throw err;
      }
    }
    const state = await ctx.jobs.state(id);
    if (state.status === 'finished') return clientResult(state.result, clientId);
    return state.status === 'running' ? { id: clientId, status: 'running', worker: state.worker, attempts: state.attempts } : { id: clientId, status: 'queued' };
  }));

  app.get('/v1/jobs/:id/events', {
    schema: { tags: TAGS, summary: 'Server-Sent Events: queued, running (per attempt), finished (the result)', params: idParams },
  }, guarded(async (req, reply) => {
    const { id, clientId } = await owned(req);
    let lease;
    try {
      lease = ctx.jobs.waiter(req.caller.share);
    } catch (err) {
      if (err instanceof TooManyWaiters) throw new HttpProblem(503, err.message);
      throw err;
    }
    const { conn, release } = lease;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no', 'access-control-allow-origin': '*' });
    const event = (name: string, data: unknown) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    let closed = false;
    res.on('close', () => {
      closed = true;
      release();
    });
    // A stream lasts as long as a job may: its longest run plus as long as a wait may sit in the queue.
    const deadline = Date.now() + ctx.config.caps.maxJobWallTimeMs + ctx.config.maxWaitSeconds * 1000;
    try {
      // The job's history from its start, then live: every client sees queued, each attempt's running, finished.
      event('queued', { id: clientId, status: 'queued' });
      let cursor = PROGRESS_FROM_START;
      while (!closed) {
        const left = deadline - Date.now();
        if (left <= 0) {
          res.write(': the job has not finished within the longest a job may take; reconnect to watch on\n\n');
          break;
        }
        const progress = await waitForProgress(conn, id, cursor, Math.min(15_000, left));
        cursor = progress.cursor;
        for (const s of progress.starts) event('running', { id: clientId, status: 'running', worker: s.worker, attempts: s.attempts });
        if (progress.finished) {
          const result = await getResult(ctx.redis, id);
          if (result) event('finished', clientResult(result, clientId));
          break;
        }
        if (!progress.starts.length) res.write(': still waiting\n\n');
      }
    } catch (err) {
      if (!closed) ctx.log.warn('event stream failed', { job: id, error: (err as Error).message });
    } finally {
      release();
      res.end();
    }
  }));

  app.get('/v1/languages', { schema: { tags: TAGS, summary: 'Languages: name, version, file name, compiled or not' } }, async () =>
    (await ctx.languages()).map((l) => ({ name: l.name, version: l.version, sourceFile: l.sourceFile, compiled: l.compiled })),
  );

  app.get('/v1/callback-secret', { schema: { tags: TAGS, summary: "This token's secret for checking callback signatures" } }, async (req) => ({
    secret: ctx.callbackSecret(req.caller.owner),
    header: 'X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>',
  }));
}
