// Job protocol v1: the shape of a job as producers XADD it, validated once with one schema.
import { z } from 'zod';
import { LANGUAGES, languageFor } from '../languages.js';
import { DEFAULT_LIMITS, defaultWallTimeMs, type OperatorCaps } from './limits.js';

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

export const jobSchema = z
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
    args: z.array(z.string()).optional(),
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
  .strict()
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

function describe(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
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
  if (!languageFor(j.language)) {
    throw new JobRejected(`unknown language "${j.language}"; supported: ${Object.keys(LANGUAGES).join(', ')}`, j.id);
  }
  const timeLimitMs = j.timeLimitMs ?? DEFAULT_LIMITS.timeLimitMs;
  return {
    id: j.id,
    language: j.language,
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
    compileTimeLimitMs: j.compileTimeLimitMs ?? DEFAULT_LIMITS.compileTimeLimitMs,
  };
}

/** Operator policy: a job over any cap is not run. */
export function checkCaps(job: Job, caps: OperatorCaps): void {
  const over: string[] = [];
  const check = (what: string, value: number, cap: number) => {
    if (value > cap) over.push(`${what} ${value} exceeds the cap ${cap}`);
  };
  const codeBytes = job.code !== undefined
    ? Buffer.byteLength(job.code)
    : (job.files ?? []).reduce((n, f) => n + Buffer.byteLength(f.content), 0);
  check('timeLimitMs', job.timeLimitMs, caps.maxTimeLimitMs);
  check('wallTimeLimitMs', job.wallTimeLimitMs, caps.maxWallTimeLimitMs);
  check('compileTimeLimitMs', job.compileTimeLimitMs, caps.maxCompileTimeLimitMs);
  check('memoryLimitMb', job.memoryLimitMb, caps.maxMemoryLimitMb);
  check('maxProcesses', job.maxProcesses, caps.maxProcesses);
  check('maxOutputBytes', job.maxOutputBytes, caps.maxOutputBytes);
  check('code bytes', codeBytes, caps.maxCodeBytes);
  check('stdin bytes', testCasesOf(job).reduce((n, c) => n + Buffer.byteLength(c.stdin), 0), caps.maxStdinBytes);
  check('testCases', job.testCases?.length ?? 1, caps.maxTestCases);
  check('files', job.files?.length ?? 1, caps.maxFiles);
  check('args', job.args.length, caps.maxArgs);
  if (over.length) throw new JobRejected(`job over the operator caps: ${over.join('; ')}`, job.id);
}

/** The inputs a job runs: its test cases, or its single stdin / expectedOutput pair. */
export function testCasesOf(job: Job): TestCase[] {
  return job.testCases ?? [{ stdin: job.stdin, expectedOutput: job.expectedOutput }];
}
