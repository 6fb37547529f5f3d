// Piston v2's API under /api/v2, so piston-client and its kin run unchanged: runtimes with aliases, execute
// with its field names, units (ms, bytes), defaults, 400 messages and response shape, answered when the job
// has finished. A body without a JSON content type is read as JSON too (piston-client sends none).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import semver from 'semver';
import type { JobResult } from '../core/protocol/result.js';
import type { ApiContext } from './context.js';
import { internalIdFor, InvalidJob, QueueFull, TooManyWaiters } from './jobs.js';
import { abortedWith } from './clientGone.js';
import type { LanguageEntry } from './languages.js';

const TAGS = ['Piston v2'];
/** The longest language or version range read: every real one is a few characters. */
const MAX_NAME_LENGTH = 64;
const PISTON_DEFAULTS = { run_timeout: 3000, compile_timeout: 10000, run_cpu_time: 3000, compile_cpu_time: 10000 };

class PistonError extends Error {
  constructor(message: string, readonly statusCode = 400) {
    super(message);
  }
}

function findRuntime(catalogue: LanguageEntry[], language: string, range: string): LanguageEntry | undefined {
  const candidates = catalogue.filter((l) => l.pistonName === language || l.pistonAliases.includes(language));
  const matching = candidates.filter((l) => {
    try {
      return semver.satisfies(l.pistonVersion, range);
    } catch {
      return false;
    }
  });
  return matching.sort((a, b) => semver.rcompare(a.pistonVersion, b.pistonVersion))[0];
}

function decodeFile(content: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(content, 'base64').toString('utf8');
  if (encoding === 'hex') return Buffer.from(content, 'hex').toString('utf8');
  return content;
}

interface Request {
  job: Record<string, unknown>;
  runtime: LanguageEntry;
}

/** Reads an execute request as Piston does, in its order, with its messages. */
function parseExecute(body: unknown, catalogue: LanguageEntry[], ctx: ApiContext): Request {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof b.language !== 'string') throw new PistonError('language is required as a string');
  if (typeof b.version !== 'string') throw new PistonError('version is required as a string');
  // Before semver sees them (a long range costs seconds) and before a message echoes them.
  if (b.language.length > MAX_NAME_LENGTH) throw new PistonError(`language must be at most ${MAX_NAME_LENGTH} characters`);
  if (b.version.length > MAX_NAME_LENGTH) throw new PistonError(`version must be at most ${MAX_NAME_LENGTH} characters`);
  if (!Array.isArray(b.files)) throw new PistonError('files is required as an array');
  b.files.forEach((f, i) => {
    if (typeof (f as { content?: unknown })?.content !== 'string') throw new PistonError(`files[${i}].content is required as a string`);
  });
  const caps = ctx.config.caps;
  const configured = {
    run_timeout: caps.maxWallTimeLimitMs, compile_timeout: caps.maxCompileTimeLimitMs, run_cpu_time: caps.maxTimeLimitMs, compile_cpu_time: caps.maxCompileTimeLimitMs,
  };
  const limits: Record<string, number> = {};
  for (const key of Object.keys(PISTON_DEFAULTS) as (keyof typeof PISTON_DEFAULTS)[]) {
    const v = b[key];
    if (v === undefined || v === null) {
      limits[key] = Math.min(PISTON_DEFAULTS[key], configured[key]);
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new PistonError(`If specified, ${key} must be a number`);
    if (v > configured[key]) throw new PistonError(`${key} cannot exceed the configured limit of ${configured[key]}`);
    if (v <= 0) throw new PistonError(`${key} must be a positive number`);
    limits[key] = Math.round(v);
  }
  let memoryLimitMb: number | undefined;
  for (const key of ['run_memory_limit', 'compile_memory_limit']) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new PistonError(`If specified, ${key} must be a number`);
    if (v === -1) continue;
    if (v < 0) throw new PistonError(`${key} must be non-negative`);
    const max = caps.maxMemoryLimitMb * 1024 * 1024;
    if (v > max) throw new PistonError(`${key} cannot exceed the configured limit of ${max}`);
    // One memory limit per job: the run's, when given.
    if (key === 'run_memory_limit' && v > 0) memoryLimitMb = Math.max(1, Math.ceil(v / (1024 * 1024)));
  }
  const runtime = findRuntime(catalogue, b.language, b.version);
  if (!runtime) throw new PistonError(`${b.language}-${b.version} runtime is unknown`);
  const files = (b.files as { name?: unknown; content: string; encoding?: unknown }[]).map((f, i) => {
    const encoding = typeof f.encoding === 'string' ? f.encoding : 'utf8';
    if (!['utf8', 'base64', 'hex'].includes(encoding)) throw new PistonError(`files[${i}].encoding must be utf8, base64 or hex`);
    return { name: typeof f.name === 'string' && f.name ? f.name : null, content: decodeFile(f.content, encoding), encoding };
  });
  const entry = files.findIndex((f) => f.encoding === 'utf8');
  if (entry < 0) throw new PistonError('files must include at least one utf8 encoded file');
  if (b.stdin !== undefined && typeof b.stdin !== 'string') throw new PistonError('stdin must be a string');
  if (b.args !== undefined && (!Array.isArray(b.args) || b.args.some((a) => typeof a !== 'string'))) throw new PistonError('args must be an array of strings');
  let stdin = (b.stdin as string | undefined) ?? '';
  if (stdin && !stdin.endsWith('\n')) stdin += '\n';
  // The entry file first; a file without a usable name gets the language's own source file name (a compiled
  // language builds only files with its extensions), the others Piston's file<i>.code.
  const ordered = [files[entry], ...files.filter((_, i) => i !== entry)];
  const named = ordered.map((f, i) => ({
    name: i === 0 && (!f.name || !f.name.includes('.')) ? runtime.sourceFile : f.name ?? `file${i}.code`,
    content: f.content,
  }));
  const job: Record<string, unknown> = {
    language: runtime.name,
    ...(named.length === 1 ? { code: named[0].content } : { files: named }),
    stdin,
    args: (b.args as string[] | undefined) ?? [],
    timeLimitMs: limits.run_cpu_time,
    wallTimeLimitMs: limits.run_timeout,
    compileTimeLimitMs: Math.min(limits.compile_timeout, limits.compile_cpu_time),
    ...(memoryLimitMb !== undefined ? { memoryLimitMb } : {}),
  };
  return { job, runtime };
}

type Stage = Record<string, unknown>;

function runStage(r: JobResult): Stage {
  let status: string | null = null;
  let signal = r.signal;
  if (r.status === 'time_limit_exceeded') [status, signal] = ['TO', 'SIGKILL'];
  else if (r.status === 'output_limit_exceeded') [status, signal] = [r.stderrTruncated && !r.stdoutTruncated ? 'EL' : 'OL', r.signal ?? 'SIGKILL'];
  else if (r.status === 'memory_limit_exceeded') [status, signal] = ['SG', 'SIGKILL'];
  else if (r.status === 'runtime_error') status = r.signal ? 'SG' : 'RE';
  else if (r.status === 'internal_error' || r.status === 'rejected') status = 'XX';
  return {
    signal, stdout: r.stdout, stderr: r.stderr, code: r.exitCode, output: r.stdout + r.stderr,
    memory: r.memoryKb * 1024, message: r.message, status, cpu_time: r.timeMs, wall_time: r.wallTimeMs,
  };
}

/** Our result in Piston's shape; when compilation failed, `run` is a copy of `compile`, as Piston does. */
export function pistonResponse(runtime: LanguageEntry, r: JobResult): Record<string, unknown> {
  const out: Record<string, unknown> = { language: runtime.pistonName, version: runtime.pistonVersion };
  if (runtime.compiled) {
    const failed = r.status === 'compile_error';
    out.compile = {
      signal: null, stdout: '', stderr: r.compileOutput, code: failed ? 1 : 0, output: r.compileOutput, memory: null,
      message: failed ? r.message : null, status: failed ? (/time/i.test(r.message ?? '') ? 'TO' : 'RE') : null, cpu_time: null, wall_time: null,
    };
    if (failed) {
      out.run = out.compile;
      return out;
    }
  }
  out.run = runStage(r);
  return out;
}

export function pistonRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v2/runtimes', { schema: { tags: TAGS, summary: 'Runtimes: language, version, aliases' } }, async () =>
    (await ctx.languages()).map((l) => ({ language: l.pistonName, version: l.pistonVersion, aliases: l.pistonAliases, ...(l.pistonRuntime ? { runtime: l.pistonRuntime } : {}) })),
  );

  app.post('/api/v2/execute', { schema: { tags: TAGS, summary: 'Run a program and answer with its result' } }, async (req: FastifyRequest, reply) => {
    let parsed: Request;
    try {
      parsed = parseExecute(req.body, await ctx.languages(), ctx);
    } catch (err) {
      if (err instanceof PistonError) return reply.code(err.statusCode).send({ message: err.message });
      throw err;
    }
    const clientId = `piston-${Date.now().toString(36)}`;
    const id = internalIdFor(clientId);
    let job;
    try {
      job = ctx.jobs.validate({ ...parsed.job, id });
      await ctx.jobs.ensureRoom(1);
      // Piston answers only with the result: refuse before queueing what could not be waited for.
      ctx.jobs.ensureWaiterRoom(req.caller.share);
    } catch (err) {
      if (err instanceof TooManyWaiters) return reply.code(503).send({ message: err.message });
      if (err instanceof InvalidJob) return reply.code(400).send({ message: err.message });
      if (err instanceof QueueFull) return reply.code(503).send({ message: 'queue is full' });
      throw err;
    }
    await ctx.jobs.submit(job, { id, clientId: id, owner: req.caller.owner, dialect: 'piston', createdAt: new Date().toISOString() });
    const result = await ctx.jobs.waitForResult(id, ctx.config.maxWaitSeconds * 1000, req.caller.share, abortedWith(reply)).catch((err: Error) => {
      if (err instanceof TooManyWaiters) return null;
      throw err;
    });
    if (!result) return reply.code(500).send({ message: `the job did not finish within ${ctx.config.maxWaitSeconds} s` });
    return pistonResponse(parsed.runtime, result);
  });
}
