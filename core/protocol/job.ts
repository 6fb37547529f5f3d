// Job protocol v1.1 (the job itself is unchanged since v1): the shape of a job as producers XADD it, validated once with one schema.
import { z } from 'zod';
import { canonicalLanguage, LANGUAGES, languageFor } from '../languages.js';
import { CAP_ENV, compileWallTimeMs, DEFAULT_LIMITS, defaultWallTimeMs, type OperatorCaps } from './limits.js';

const positiveInt = z.number().int().positive();

const fileName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'file names are 1-64 of [A-Za-z0-9_.-], not starting with a dot')
  .refine((n) => !n.includes('..'), 'file names may not contain ".."');

/** An S3 object key the worker fetches the code from (S3_BUCKET); never a path the runner follows. */
const codeKey = z
  .string()
  .min(1, 'codeKey must not be empty')
  .max(1024, 'codeKey is at most 1024 characters')
  .refine((k) => !k.startsWith('/'), 'codeKey may not start with "/"')
  .refine((k) => !k.split('/').includes('..'), 'codeKey may not contain ".." segments');

const jobFields = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id must be 1-64 characters of [A-Za-z0-9_-]'),
    language: z.string().min(1),
    code: z.string().optional(),
    codeKey: codeKey.optional(),
    files: z
      .array(z.object({ name: fileName, content: z.string() }).strict())
      .min(1)
      .optional(),
    stdin: z.string().optional(),
    // Arguments become C strings in the sandbox: a NUL byte cannot be carried, so it is the producer's mistake.
    args: z.array(z.string().refine((a) => !a.includes('\0'), 'an argument may not contain a NUL byte')).optional(),
    expectedOutput: z.string().optional(),
    testCases: z
      .array(z.object({ stdin: z.string().optional(), expectedOutput: z.string().optional() }).strict())
      .min(1)
      .optional(),
    stopOnFirstFailure: z.boolean().optional(),
    timeLimitMs: positiveInt.optional(),
    wallTimeLimitMs: positiveInt.optional(),
    memoryLimitMb: positiveInt.optional(),
    maxProcesses: positiveInt.optional(),
    maxOutputBytes: positiveInt.optional(),
    compileTimeLimitMs: positiveInt.optional(),
  })
  .strict();

export const jobSchema = jobFields
  .refine((j) => [j.code, j.files, j.codeKey].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of "code", "files" or "codeKey"',
  })
  .refine((j) => !j.files || new Set(j.files.map((f) => f.name)).size === j.files.length, {
    message: 'file names must be unique',
  })
  // An empty stdin is allowed beside testCases: a normalized job carries one and must stay valid input.
  .refine((j) => !j.testCases || (!j.stdin && j.expectedOutput === undefined), {
    message: 'with "testCases", give stdin and expectedOutput per case, not at the top level',
  });

export type JobInput = z.infer<typeof jobSchema>;

export interface TestCase {
  stdin: string;
  expectedOutput?: string;
}

/**
 * A job with every limit resolved: what the runner executes. It is itself a valid job input, so it can
 * cross to the runner as JSON and be normalized again there unchanged.
 */
export interface Job {
  id: string;
  language: string;
  files?: { name: string; content: string }[];
  code?: string;
  /** Resolved into `code` by the worker before the job reaches a transport; the runner refuses it. */
  codeKey?: string;
  stdin: string;
  args: string[];
  expectedOutput?: string;
  /** Several inputs for one compiled program; when present, stdin and expectedOutput are unused. */
  testCases?: TestCase[];
  stopOnFirstFailure: boolean;
  timeLimitMs: number;
  wallTimeLimitMs: number;
  memoryLimitMb: number;
  maxProcesses: number;
  maxOutputBytes: number;
  compileTimeLimitMs: number;
}

export class JobRejected extends Error {
  constructor(
    message: string,
    /** The job id when it could be read, so a `rejected` result can be stored for the producer. */
    readonly jobId: string | null,
  ) {
    super(message);
    this.name = 'JobRejected';
  }
}

/** Rejection messages stay short whatever the job holds: a few issues, each cut to a line. */
const MAX_ISSUES_DESCRIBED = 5;
const MAX_ISSUE_CHARS = 200;

function describe(error: z.ZodError): string {
  const shown = error.issues.slice(0, MAX_ISSUES_DESCRIBED).map((i) => {
    const text = i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
    return text.length > MAX_ISSUE_CHARS ? `${text.slice(0, MAX_ISSUE_CHARS)}…` : text;
  });
  const more = error.issues.length - shown.length;
  return more > 0 ? `${shown.join('; ')}; and ${more} more` : shown.join('; ');
}

function readableId(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
}

/** Validates the schema and fills defaults. Throws JobRejected with a message for the producer. */
export function normalizeJob(raw: unknown): Job {
  const parsed = jobSchema.safeParse(raw);
  if (!parsed.success) throw new JobRejected(`invalid job: ${describe(parsed.error)}`, readableId(raw));
  const j = parsed.data;
  const language = canonicalLanguage(j.language);
  if (!language) {
    throw new JobRejected(`unknown language "${j.language}"; supported: ${Object.keys(LANGUAGES).join(', ')}`, j.id);
  }
  const timeLimitMs = j.timeLimitMs ?? DEFAULT_LIMITS.timeLimitMs;
  return {
    id: j.id,
    language,
    code: j.code,
    codeKey: j.codeKey,
    files: j.files,
    stdin: j.stdin ?? '',
    args: j.args ?? [],
    expectedOutput: j.expectedOutput,
    testCases: j.testCases?.map((c) => ({ stdin: c.stdin ?? '', expectedOutput: c.expectedOutput })),
    stopOnFirstFailure: j.stopOnFirstFailure ?? false,
    timeLimitMs,
    wallTimeLimitMs: j.wallTimeLimitMs ?? defaultWallTimeMs(timeLimitMs),
    memoryLimitMb: j.memoryLimitMb ?? DEFAULT_LIMITS.memoryLimitMb,
    maxProcesses: j.maxProcesses ?? DEFAULT_LIMITS.maxProcesses,
    maxOutputBytes: j.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes,
    compileTimeLimitMs: j.compileTimeLimitMs ?? languageFor(language)!.compileTimeLimitMs ?? DEFAULT_LIMITS.compileTimeLimitMs,
  };
}

const over = (what: string, value: number, cap: keyof OperatorCaps, caps: OperatorCaps): string | null =>
  value > caps[cap] ? `${what} ${value} exceeds the cap ${caps[cap]} (${CAP_ENV[cap]})` : null;

function reject(problems: (string | null)[], jobId: string | null): void {
  const found = problems.filter((p): p is string => p !== null);
  if (found.length) throw new JobRejected(`job over the operator caps: ${found.join('; ')}`, jobId);
}

const textBytes = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v) : 0);
const countOf = (v: unknown) => (Array.isArray(v) ? v.length : 0);
const FIELDS_OF_A_JOB = Object.keys(jobFields.shape).length;

/**
 * Counts and sizes of a parsed job before its full validation, so that the schema's work (and its messages)
 * stay bounded however many entries or keys a hostile job carries. Checks only what is cheap; checkCaps
 * checks the rest once the job is valid.
 */
export function precheckJob(raw: unknown, caps: OperatorCaps): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new JobRejected('invalid job: a job is a JSON object', null);
  const j = raw as Record<string, unknown>;
  const keys = Object.keys(j).length;
  const id = readableId(raw);
  if (keys > FIELDS_OF_A_JOB) throw new JobRejected(`invalid job: it has ${keys} fields; a job has at most ${FIELDS_OF_A_JOB}`, id);
  reject([
    over('files', countOf(j.files), 'maxFiles', caps),
    over('testCases', countOf(j.testCases), 'maxTestCases', caps),
    over('args', countOf(j.args), 'maxArgs', caps),
    over('code bytes', textBytes(j.code), 'maxCodeBytes', caps),
    over('stdin bytes', textBytes(j.stdin), 'maxStdinBytes', caps),
    over('expectedOutput bytes', textBytes(j.expectedOutput), 'maxExpectedOutputBytes', caps),
  ], id);
}

/** Bytes of output a job's result can carry: both streams of every case, each up to maxOutputBytes. */
export function resultOutputBytes(job: Job): number {
  return testCasesOf(job).length * 2 * job.maxOutputBytes;
}

/** A job's time at its limits over compile and every case: what MAX_JOB_WALL_TIME_MS bounds. */
export function jobTimeAtLimits(job: Job): { wallMs: number; cpuMs: number } {
  const compiled = Boolean(languageFor(job.language)?.compile);
  const cases = testCasesOf(job).length;
  return {
    wallMs: (compiled ? compileWallTimeMs(job.compileTimeLimitMs) : 0) + cases * job.wallTimeLimitMs,
    cpuMs: (compiled ? job.compileTimeLimitMs : 0) + cases * job.timeLimitMs,
  };
}

/** Operator policy: a job over any cap is not run. */
export function checkCaps(job: Job, caps: OperatorCaps): void {
  const codeBytes = job.code !== undefined
    ? Buffer.byteLength(job.code)
    : (job.files ?? []).reduce((n, f) => n + Buffer.byteLength(f.content), 0);
  const cases = testCasesOf(job);
  const time = jobTimeAtLimits(job);
  const longestArg = job.args.reduce((m, a, i) => (Buffer.byteLength(a) > m.bytes ? { i, bytes: Buffer.byteLength(a) } : m), { i: 0, bytes: 0 });
  reject([
    over('timeLimitMs', job.timeLimitMs, 'maxTimeLimitMs', caps),
    over('wallTimeLimitMs', job.wallTimeLimitMs, 'maxWallTimeLimitMs', caps),
    over('compileTimeLimitMs', job.compileTimeLimitMs, 'maxCompileTimeLimitMs', caps),
    over('memoryLimitMb', job.memoryLimitMb, 'maxMemoryLimitMb', caps),
    over('maxProcesses', job.maxProcesses, 'maxProcesses', caps),
    over('maxOutputBytes', job.maxOutputBytes, 'maxOutputBytes', caps),
    over('code bytes', codeBytes, 'maxCodeBytes', caps),
    over('stdin bytes', cases.reduce((n, c) => n + Buffer.byteLength(c.stdin), 0), 'maxStdinBytes', caps),
    over('expectedOutput bytes', cases.reduce((n, c) => n + Buffer.byteLength(c.expectedOutput ?? ''), 0), 'maxExpectedOutputBytes', caps),
    over('testCases', job.testCases?.length ?? 1, 'maxTestCases', caps),
    over('files', job.files?.length ?? 1, 'maxFiles', caps),
    over('args', job.args.length, 'maxArgs', caps),
    over(`args[${longestArg.i}] bytes`, longestArg.bytes, 'maxArgBytes', caps),
    over('args bytes', job.args.reduce((n, a) => n + Buffer.byteLength(a), 0), 'maxArgsBytes', caps),
    over(`output bytes (${cases.length} cases × 2 streams × maxOutputBytes ${job.maxOutputBytes})`, resultOutputBytes(job), 'maxResultBytes', caps),
    over('total wall time at the limits (compile and every case, ms)', time.wallMs, 'maxJobWallTimeMs', caps),
    over('total CPU time at the limits (compile and every case, ms)', time.cpuMs, 'maxJobWallTimeMs', caps),
  ], job.id);
}

/** A stream entry's job, start to end: counts and sizes first, then the schema, then the operator caps. */
export function parseJob(raw: unknown, caps: OperatorCaps): Job {
  precheckJob(raw, caps);
  const job = normalizeJob(raw);
  checkCaps(job, caps);
  return job;
}

/** The inputs a job runs: its test cases, or its single stdin / expectedOutput pair. */
export function testCasesOf(job: Job): TestCase[] {
  return job.testCases ?? [{ stdin: job.stdin, expectedOutput: job.expectedOutput }];
}
