// Judge0 CE 1.13.1's API at the root paths, so its clients (judge0-python, the Judge0 IDE, graders) work
// unchanged: its fields, defaults, types, status codes and error bodies, over our queue and result store.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod/v4';
import type { Job } from '../core/protocol/job.js';
import { DEFAULT_LIMITS, defaultWallTimeMs, MAX_FILE_BYTES } from '../core/protocol/limits.js';
import { CallbackRefused, checkCallbackTarget } from './callbackTarget.js';
import type { ApiContext } from './context.js';
import { internalIdFor, InvalidJob, QueueFull, TooManyWaiters, type JobRecord } from './jobs.js';
import {
  decode64, InvalidFields, JUDGE0_VERSION, parseFields, pickFields, STATUSES, submissionView, type Judge0Echo,
} from './judge0Format.js';
import { byJudge0Id, type LanguageEntry } from './languages.js';
import { abortedWith } from './clientGone.js';
import { splitArguments } from './shellWords.js';

type FieldErrors = Record<string, string[]>;
/** One submission checked: the job and record to queue, or Judge0's field-keyed errors. */
type Prepared = { job: Job; record: JobRecord; errors?: undefined } | { job?: undefined; record?: undefined; errors: FieldErrors };

const NOT_FOUND = { status: 404, error: 'Not Found' };
const TAGS = ['Judge0 CE 1.13.1'];
const submissionQuery = z.object({
  base64_encoded: z.string().optional().describe('"true": text fields in and out are base64 (Ruby encode64 on the way out)'),
  wait: z.string().optional().describe('"true": answer when the job has finished (up to MAX_WAIT_SECONDS)'),
  fields: z.string().optional().describe('comma-separated field names, or * for all'),
});

/** A request's submission, checked as Judge0 checks it (errors are keyed by Judge0 field names). */
interface Parsed {
  ok: true;
  job: Record<string, unknown>;
  echo: Judge0Echo;
  callbackUrl: string | null;
}

const isTrue = (v: unknown) => v === 'true' || v === true;

function numberField(body: Record<string, unknown>, name: string, errors: FieldErrors): number | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) {
    (errors[name] ??= []).push('is not a number');
    return undefined;
  }
  return n;
}

function range(errors: FieldErrors, name: string, value: number | undefined, min: number, max: number, minInclusive = true): void {
  if (value === undefined) return;
  if (minInclusive ? value < min : value <= min) (errors[name] ??= []).push(`must be greater than ${minInclusive ? 'or equal to ' : ''}${min}`);
  if (value > max) (errors[name] ??= []).push(`must be less than or equal to ${max}`);
}

function text(body: Record<string, unknown>, name: string, base64: boolean, errors: FieldErrors): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    (errors[name] ??= []).push('must be a string');
    return undefined;
  }
  return base64 ? decode64(v) : v;
}

/** Options of Judge0 this service cannot honour: refused unless given at the value we run with. */
const UNSUPPORTED: [string, (v: unknown) => boolean, string][] = [
  ['cpu_extra_time', (v) => Number(v) === 0, 'is not supported: jobs get no extra CPU time beyond cpu_time_limit'],
  ['stack_limit', () => false, 'is not supported: the stack is bounded by memory_limit'],
  ['enable_per_process_and_thread_time_limit', (v) => !isTrue(v), 'is not supported: the time limit is per job'],
  ['enable_per_process_and_thread_memory_limit', (v) => !isTrue(v), 'is not supported: the memory limit is per job'],
  ['max_file_size', (v) => Number(v) === MAX_FILE_BYTES / 1024, `is not supported: files are limited to ${MAX_FILE_BYTES / 1024} KB`],
  ['redirect_stderr_to_stdout', (v) => !isTrue(v), 'is not supported'],
  ['enable_network', (v) => !isTrue(v), 'is not allowed: sandboxes have no network'],
  ['number_of_runs', (v) => Number(v) === 1, 'is not supported: every submission runs once'],
  ['additional_files', () => false, 'is not supported'],
  ['compiler_options', () => false, 'setting compiler options is not allowed'],
];

function parseSubmission(ctx: ApiContext, catalogue: LanguageEntry[], raw: unknown, base64: boolean): Parsed | (FieldErrors & { ok?: undefined }) {
  const errors: FieldErrors = {};
  const body = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const caps = ctx.config.caps;
  const source = text(body, 'source_code', base64, errors);
  if (!source && !errors.source_code) errors.source_code = ["can't be blank"];
  const stdin = text(body, 'stdin', base64, errors);
  const expected = text(body, 'expected_output', base64, errors);
  let language: LanguageEntry | undefined;
  const languageId = numberField(body, 'language_id', errors);
  if (languageId === undefined) {
    if (!errors.language_id) errors.language_id = ["can't be blank"];
  } else if (!(language = byJudge0Id(catalogue, languageId))) {
    errors.language_id = [`language with id ${body.language_id} doesn't exist`];
  }
  const cpu = numberField(body, 'cpu_time_limit', errors);
  const wall = numberField(body, 'wall_time_limit', errors);
  const memory = numberField(body, 'memory_limit', errors);
  const processes = numberField(body, 'max_processes_and_or_threads', errors);
  range(errors, 'cpu_time_limit', cpu, 0, caps.maxTimeLimitMs / 1000, false);
  range(errors, 'wall_time_limit', wall, 0, caps.maxWallTimeLimitMs / 1000, false);
  range(errors, 'memory_limit', memory, 2048, caps.maxMemoryLimitMb * 1024);
  range(errors, 'max_processes_and_or_threads', processes, 0, caps.maxProcesses, false);
  if (processes !== undefined && !Number.isInteger(processes)) (errors.max_processes_and_or_threads ??= []).push('must be an integer');
  for (const [name, ok, message] of UNSUPPORTED) {
    const v = body[name];
    if (v !== undefined && v !== null && v !== '' && !ok(v)) (errors[name] ??= []).push(message);
  }
  const argsText = body.command_line_arguments;
  let args: string[] = [];
  if (argsText !== undefined && argsText !== null) {
    if (typeof argsText !== 'string') errors.command_line_arguments = ['must be a string'];
    else if (argsText.length > 512) errors.command_line_arguments = ['is too long (maximum is 512 characters)'];
    else args = splitArguments(argsText);
  }
  const callback = body.callback_url;
  if (callback !== undefined && callback !== null && typeof callback !== 'string') errors.callback_url = ['must be a string'];
  if (Object.keys(errors).length || !language) return errors;
  const timeLimitMs = cpu !== undefined ? Math.max(1, Math.round(cpu * 1000)) : DEFAULT_LIMITS.timeLimitMs;
  const job: Record<string, unknown> = {
    language: language.name,
    code: source,
    ...(stdin !== undefined ? { stdin } : {}),
    ...(expected !== undefined ? { expectedOutput: expected } : {}),
    ...(args.length ? { args } : {}),
    timeLimitMs,
    ...(wall !== undefined ? { wallTimeLimitMs: Math.max(1, Math.round(wall * 1000)) } : {}),
    ...(memory !== undefined ? { memoryLimitMb: Math.ceil(memory / 1024) } : {}),
    ...(processes !== undefined ? { maxProcesses: processes } : {}),
  };
  const echo: Judge0Echo = {
    source_code: source ?? null,
    language_id: languageId!,
    language_name: language.judge0Name,
    stdin: stdin ?? null,
    expected_output: expected ?? null,
    cpu_time_limit: timeLimitMs / 1000,
    wall_time_limit: (wall !== undefined ? Math.round(wall * 1000) : defaultWallTimeMs(timeLimitMs)) / 1000,
    memory_limit: memory ?? DEFAULT_LIMITS.memoryLimitMb * 1024,
    max_processes_and_or_threads: processes ?? DEFAULT_LIMITS.maxProcesses,
    command_line_arguments: typeof argsText === 'string' ? argsText : null,
    callback_url: typeof callback === 'string' ? callback : null,
  };
  return { ok: true, job, echo, callbackUrl: typeof callback === 'string' && callback ? callback : null };
}

/** JobService's verdict on a job, in Judge0's field-keyed form. */
function jobErrors(err: InvalidJob): FieldErrors {
  const rename: Record<string, string> = {
    code: 'source_code', stdin: 'stdin', expectedOutput: 'expected_output', timeLimitMs: 'cpu_time_limit',
    wallTimeLimitMs: 'wall_time_limit', memoryLimitMb: 'memory_limit', maxProcesses: 'max_processes_and_or_threads', args: 'command_line_arguments',
  };
  const out: FieldErrors = {};
  for (const d of err.details) (out[rename[d.path.split('.')[0]] ?? 'submission'] ??= []).push(d.message);
  return out;
}

export function judge0Routes(app: FastifyInstance, ctx: ApiContext): void {
  /** Validates one submission as Judge0 does, then as the workers will; returns what to queue or its errors. */
  const prepare = async (req: FastifyRequest, raw: unknown, base64: boolean, catalogue: LanguageEntry[]): Promise<Prepared> => {
    const parsed = parseSubmission(ctx, catalogue, raw, base64);
    if (parsed.ok !== true) return { errors: parsed as FieldErrors };
    if (parsed.callbackUrl) {
      try {
        await checkCallbackTarget(parsed.callbackUrl, ctx.config.callbackAllowPrivate);
      } catch (err) {
        if (err instanceof CallbackRefused) return { errors: { callback_url: [err.message] } };
        throw err;
      }
    }
    const token = randomUUID();
    const id = internalIdFor(token);
    try {
      const job = ctx.jobs.validate({ ...parsed.job, id });
      const record: JobRecord = {
        id, clientId: token, owner: req.caller.owner, dialect: 'judge0', createdAt: new Date().toISOString(), judge0: { ...parsed.echo },
        ...(parsed.callbackUrl ? { callback: { url: parsed.callbackUrl, kind: 'judge0' as const } } : {}),
      };
      return { job, record };
    } catch (err) {
      if (err instanceof InvalidJob) return { errors: jobErrors(err) };
      throw err;
    }
  };

  /** Room for `count` more jobs, or the 503 Judge0 answers; true when there is room. */
  const roomFor = async (reply: FastifyReply, count: number): Promise<boolean> => {
    try {
      await ctx.jobs.ensureRoom(count);
      return true;
    } catch (err) {
      if (!(err instanceof QueueFull)) throw err;
      void reply.code(503).send({ error: 'queue is full' });
      return false;
    }
  };

  const view = async (req: FastifyRequest, token: string, fields: string[], base64: boolean) => {
    const id = await ctx.jobs.resolve(req.caller.owner, token);
    const record = id ? await ctx.jobs.record(id) : null;
    if (!id || !record) return null;
    return pickFields(submissionView(record, await ctx.jobs.state(id)), fields, base64);
  };

  const fieldsOr400 = (reply: FastifyReply, raw: unknown): string[] | null => {
    try {
      return parseFields(raw);
    } catch (err) {
      if (err instanceof InvalidFields) {
        void reply.code(400).send({ error: err.message });
        return null;
      }
      throw err;
    }
  };

  app.post('/submissions', { schema: { tags: TAGS, summary: 'Create a submission', querystring: submissionQuery } }, async (req, reply) => {
    const q = req.query as z.infer<typeof submissionQuery>;
    const base64 = isTrue(q.base64_encoded);
    const fields = fieldsOr400(reply, q.fields);
    if (!fields) return reply;
    const catalogue = await ctx.languages();
    // Validation first (a bad submission is 422 even on a full queue), then room, then queueing.
    const p = await prepare(req, req.body, base64, catalogue);
    if (p.errors) return reply.code(422).send(p.errors);
    if (!(await roomFor(reply, 1))) return reply;
    await ctx.jobs.submit(p.job, p.record);
    if (!isTrue(q.wait)) return reply.code(201).send({ token: p.record.clientId });
    // Too many waiting: answered now, like a wait that ran out (the client reads it later by its token).
    await ctx.jobs.waitForResult(p.record.id, ctx.config.maxWaitSeconds * 1000, req.caller.share, abortedWith(reply)).catch((err: Error) => {
      if (!(err instanceof TooManyWaiters)) throw err;
    });
    return reply.code(201).send(await view(req, p.record.clientId, fields, base64));
  });

  app.post('/submissions/batch', { schema: { tags: TAGS, summary: 'Create up to MAX_BATCH_SIZE submissions', querystring: submissionQuery } }, async (req, reply) => {
    const q = req.query as z.infer<typeof submissionQuery>;
    const base64 = isTrue(q.base64_encoded);
    const list = (req.body as { submissions?: unknown } | null)?.submissions;
    if (!Array.isArray(list) || list.length === 0) return reply.code(400).send({ error: 'there should be at least one submission in a batch' });
    if (list.length > ctx.config.maxBatchSize) {
      return reply.code(400).send({ error: `number of submissions in a batch should be less than or equal to ${ctx.config.maxBatchSize}` });
    }
    const catalogue = await ctx.languages();
    const prepared = await Promise.all(list.map((s) => prepare(req, s, base64, catalogue)));
    const valid = prepared.filter((p) => !p.errors);
    if (valid.length === 0) return reply.code(422).send(prepared.map((p) => p.errors));
    if (!(await roomFor(reply, valid.length))) return reply;
    for (const p of valid) await ctx.jobs.submit(p.job!, p.record!);
    // In request order: a token for each queued one, Judge0's errors in place of each refused one.
    return reply.code(201).send(prepared.map((p) => (p.errors ? p.errors : { token: p.record.clientId })));
  });

  const batchQuery = z.object({ tokens: z.string().optional(), base64_encoded: z.string().optional(), fields: z.string().optional() });
  app.get('/submissions/batch', { schema: { tags: TAGS, summary: 'Read several submissions', querystring: batchQuery } }, async (req, reply) => {
    const q = req.query as z.infer<typeof batchQuery>;
    const raw = q.tokens ?? (req.headers.tokens as string | undefined) ?? '';
    const tokens = raw.split(',').map((t) => t.trim()).filter(Boolean);
    if (!tokens.length) return reply.code(400).send({ error: 'tokens are required' });
    if (tokens.length > ctx.config.maxBatchSize) {
      return reply.code(400).send({ error: `number of tokens should be less than or equal to ${ctx.config.maxBatchSize}` });
    }
    const fields = fieldsOr400(reply, q.fields);
    if (!fields) return reply;
    const base64 = isTrue(q.base64_encoded);
    return { submissions: await Promise.all(tokens.map((t) => view(req, t, fields, base64))) };
  });

  // Any string: a token that is no token of ours is simply not found (Judge0's 404), whatever its length.
  const tokenParams = z.object({ token: z.string() });
  const getQuery = z.object({ base64_encoded: z.string().optional(), fields: z.string().optional() });
  app.get('/submissions/:token', { schema: { tags: TAGS, summary: 'Read a submission', params: tokenParams, querystring: getQuery } }, async (req, reply) => {
    const q = req.query as z.infer<typeof getQuery>;
    const fields = fieldsOr400(reply, q.fields);
    if (!fields) return reply;
    const v = await view(req, (req.params as { token: string }).token, fields, isTrue(q.base64_encoded));
    return v ? v : reply.code(404).send(NOT_FOUND);
  });

  // Listing every submission needs Judge0's authorization token, which this service does not have.
  app.get('/submissions', { schema: { tags: TAGS, summary: 'Not available (needs Judge0 authorization)' } }, async (_req, reply) => reply.code(403).send());

  app.get('/languages', { schema: { tags: TAGS, summary: 'Languages by Judge0 id' } }, async () => {
    const list = (await ctx.languages()).flatMap((l) => l.judge0Ids.map((id) => ({ id, name: l.judge0Name })));
    return list.sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
  });

  app.get('/languages/all', { schema: { tags: TAGS } }, async () =>
    (await ctx.languages()).flatMap((l) => l.judge0Ids.map((id) => ({ id, name: l.judge0Name, is_archived: false }))).sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id),
  );

  app.get('/languages/:id', { schema: { tags: TAGS, params: z.object({ id: z.string().max(12) }) } }, async (req, reply) => {
    const id = Number((req.params as { id: string }).id);
    const l = Number.isInteger(id) ? byJudge0Id(await ctx.languages(), id) : undefined;
    if (!l) return reply.code(404).send(NOT_FOUND);
    return {
      id, name: l.judge0Name, is_archived: false, source_file: l.sourceFile,
      compile_cmd: l.compileCommand ? l.compileCommand.join(' ') : null, run_cmd: l.runCommand.join(' '),
    };
  });

  app.get('/statuses', { schema: { tags: TAGS } }, async () => STATUSES);

  app.get('/about', { schema: { tags: TAGS } }, async () => ({
    version: JUDGE0_VERSION,
    homepage: 'https://github.com/code-execution/code-execution',
    source_code: 'https://github.com/code-execution/code-execution',
    maintainer: 'the code-execution maintainers',
  }));

  app.get('/version', { schema: { tags: TAGS } }, async (_req, reply) => reply.type('text/plain').send(JUDGE0_VERSION));

  app.get('/config_info', { schema: { tags: TAGS, summary: "Judge0's 39 configuration keys, with this service's real limits" } }, async () => configInfo(ctx));

  app.get('/workers', { schema: { tags: TAGS } }, async () => {
    const size = await ctx.jobs.queueSize();
    const consumers = await ctx.redis.xinfo('CONSUMERS', ctx.config.streamKey, ctx.config.consumerGroup).catch(() => [] as unknown[]);
    const available = (consumers as unknown[]).length;
    return [{ queue: JUDGE0_VERSION, size, available, idle: Math.max(0, available - Math.min(size, available)), working: Math.min(size, available), paused: 0, failed: 0 }];
  });
}

export function configInfo(ctx: ApiContext): Record<string, unknown> {
  const c = ctx.config.caps;
  return {
    maintenance_mode: false,
    enable_wait_result: true,
    enable_compiler_options: false,
    allowed_languages_for_compile_options: [],
    enable_command_line_arguments: true,
    enable_submission_delete: false,
    enable_callbacks: true,
    callbacks_max_tries: ctx.config.callbackMaxTries,
    callbacks_timeout: ctx.config.callbackTimeoutMs / 1000,
    enable_additional_files: false,
    max_queue_size: ctx.config.maxQueueSize,
    cpu_time_limit: DEFAULT_LIMITS.timeLimitMs / 1000,
    max_cpu_time_limit: c.maxTimeLimitMs / 1000,
    cpu_extra_time: 0,
    max_cpu_extra_time: 0,
    wall_time_limit: defaultWallTimeMs(DEFAULT_LIMITS.timeLimitMs) / 1000,
    max_wall_time_limit: c.maxWallTimeLimitMs / 1000,
    memory_limit: DEFAULT_LIMITS.memoryLimitMb * 1024,
    max_memory_limit: c.maxMemoryLimitMb * 1024,
    stack_limit: DEFAULT_LIMITS.memoryLimitMb * 1024,
    max_stack_limit: c.maxMemoryLimitMb * 1024,
    max_processes_and_or_threads: DEFAULT_LIMITS.maxProcesses,
    max_max_processes_and_or_threads: c.maxProcesses,
    enable_per_process_and_thread_time_limit: false,
    allow_enable_per_process_and_thread_time_limit: false,
    enable_per_process_and_thread_memory_limit: false,
    allow_enable_per_process_and_thread_memory_limit: false,
    max_file_size: MAX_FILE_BYTES / 1024,
    max_max_file_size: MAX_FILE_BYTES / 1024,
    number_of_runs: 1,
    max_number_of_runs: 1,
    redirect_stderr_to_stdout: false,
    max_extract_size: 0,
    enable_batched_submissions: true,
    max_submission_batch_size: ctx.config.maxBatchSize,
    submission_cache_duration: 0,
    use_docs_as_homepage: false,
    allow_enable_network: false,
    enable_network: false,
  };
}

