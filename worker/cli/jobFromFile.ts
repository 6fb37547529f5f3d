// Builds a job from a source file and CLI flags, shared by `submit` (through the queue) and `run` (direct).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { languageOfFile, LANGUAGES } from '../../core/languages.js';
import type { JobInput } from '../../core/protocol/job.js';

export const JOB_FLAGS = {
  language: { type: 'string' },
  stdin: { type: 'string' },
  'expected-output': { type: 'string' },
  'time-limit-ms': { type: 'string' },
  'memory-limit-mb': { type: 'string' },
  id: { type: 'string' },
} as const;

export interface JobFlags {
  language?: string;
  stdin?: string;
  'expected-output'?: string;
  'time-limit-ms'?: string;
  'memory-limit-mb'?: string;
  id?: string;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} needs a positive whole number, got "${value}"`);
  return n;
}

function readText(what: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function jobFromFile(file: string | undefined, flags: JobFlags): JobInput {
  if (!file) throw new UsageError('give the source FILE to run');
  const language = flags.language ?? languageOfFile(file);
  if (!language) {
    throw new UsageError(`cannot tell the language of ${file} from its extension; pass --language (one of ${Object.keys(LANGUAGES).join(', ')})`);
  }
  return {
    id: flags.id ?? randomUUID(),
    language,
    code: readText('source file', file),
    stdin: flags.stdin === undefined ? undefined : readText('stdin file', flags.stdin),
    expectedOutput: flags['expected-output'] === undefined ? undefined : readText('expected output file', flags['expected-output']),
    timeLimitMs: positive('time-limit-ms', flags['time-limit-ms']),
    memoryLimitMb: positive('memory-limit-mb', flags['memory-limit-mb']),
  };
}
