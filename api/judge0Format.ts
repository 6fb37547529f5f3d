// Judge0 CE 1.13.1's view of a job: its statuses, its field names and types (decimals as strings, memory in
// KB), and Ruby's Base64.encode64 for base64_encoded output. Pure functions of a job record and its state.
import { constants } from 'node:os';
import { MAX_FILE_BYTES } from '../core/protocol/limits.js';
import type { JobResult } from '../core/protocol/result.js';
import type { JobRecord, JobState } from './jobs.js';

export const JUDGE0_VERSION = '1.13.1';

export const STATUSES = [
  { id: 1, description: 'In Queue' },
  { id: 2, description: 'Processing' },
  { id: 3, description: 'Accepted' },
  { id: 4, description: 'Wrong Answer' },
  { id: 5, description: 'Time Limit Exceeded' },
  { id: 6, description: 'Compilation Error' },
  { id: 7, description: 'Runtime Error (SIGSEGV)' },
  { id: 8, description: 'Runtime Error (SIGXFSZ)' },
  { id: 9, description: 'Runtime Error (SIGFPE)' },
  { id: 10, description: 'Runtime Error (SIGABRT)' },
  { id: 11, description: 'Runtime Error (NZEC)' },
  { id: 12, description: 'Runtime Error (Other)' },
  { id: 13, description: 'Internal Error' },
  { id: 14, description: 'Exec Format Error' },
] as const;

export const DEFAULT_FIELDS = ['token', 'time', 'memory', 'stdout', 'stderr', 'compile_output', 'message', 'status'];

/** `fields=*` in Judge0 1.13.1's order. */
export const ALL_FIELDS = [
  'source_code', 'language_id', 'stdin', 'expected_output', 'stdout', 'status_id', 'created_at', 'finished_at', 'time',
  'memory', 'stderr', 'token', 'number_of_runs', 'cpu_time_limit', 'cpu_extra_time', 'wall_time_limit', 'memory_limit',
  'stack_limit', 'max_processes_and_or_threads', 'enable_per_process_and_thread_time_limit',
  'enable_per_process_and_thread_memory_limit', 'max_file_size', 'compile_output', 'exit_code', 'exit_signal', 'message',
  'wall_time', 'compiler_options', 'command_line_arguments', 'redirect_stderr_to_stdout', 'callback_url',
  'additional_files', 'enable_network', 'status', 'language',
];

/** Fields whose text is base64-encoded when base64_encoded=true. */
const TEXT_FIELDS = ['source_code', 'stdin', 'expected_output', 'stdout', 'stderr', 'compile_output', 'message'];

const SIGNAL_STATUS: Record<string, number> = { SIGSEGV: 7, SIGXFSZ: 8, SIGFPE: 9, SIGABRT: 10 };

/** What Judge0 keeps of a request besides the job: its own fields, echoed by `fields=*`. */
export interface Judge0Echo {
  source_code: string | null;
  language_id: number;
  language_name: string;
  stdin: string | null;
  expected_output: string | null;
  cpu_time_limit: number;
  wall_time_limit: number;
  memory_limit: number;
  max_processes_and_or_threads: number;
  command_line_arguments: string | null;
  callback_url: string | null;
}

/** Ruby's Base64.encode64: a newline after every 60 characters and at the end ("" stays ""). */
export function encode64(text: string): string {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  return b64.replace(/.{1,60}/g, (line) => `${line}\n`);
}

/** Lenient, as Ruby's Base64.decode64: whitespace and stray characters are skipped. */
export function decode64(text: string): string {
  return Buffer.from(text.replace(/[^A-Za-z0-9+/=_-]/g, ''), 'base64').toString('utf8');
}

/** Judge0 serialises decimals as strings: "0.012", "5.0". */
export function decimal(value: number, places?: number): string {
  if (places !== undefined) return value.toFixed(places);
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

function signalNumber(name: string | null): number | null {
  if (!name) return null;
  return (constants.signals as Record<string, number>)[name] ?? null;
}

/** Our verdict as a Judge0 status, and the message that says which limit when Judge0 has no status for it. */
export function judge0Status(result: JobResult): { id: number; message: string | null } {
  switch (result.status) {
    case 'accepted':
      return { id: 3, message: result.message };
    case 'wrong_answer':
      return { id: 4, message: result.message };
    case 'time_limit_exceeded':
      return { id: 5, message: result.message };
    case 'compile_error':
      return { id: 6, message: result.message };
    case 'output_limit_exceeded':
      return { id: 8, message: `output limit exceeded: ${result.message ?? 'over the output cap'}` };
    case 'memory_limit_exceeded':
      return { id: 12, message: `memory limit exceeded: ${result.message ?? 'over the memory limit'}` };
    case 'runtime_error':
      if (result.signal) return { id: SIGNAL_STATUS[result.signal] ?? 12, message: result.message };
      return { id: 11, message: result.exitCode !== null ? `Exited with error status ${result.exitCode}` : result.message };
    default:
      return { id: 13, message: result.message };
  }
}

const describeStatus = (id: number) => ({ id, description: STATUSES.find((s) => s.id === id)!.description });

/** Every field of `fields=*` for a job, before picking and encoding. */
export function submissionView(record: JobRecord, state: JobState): Record<string, unknown> {
  const e = record.judge0 as Judge0Echo | undefined;
  const r = state.status === 'finished' ? state.result : null;
  const status = r ? judge0Status(r) : { id: state.status === 'running' ? 2 : 1, message: null };
  const compileFailed = r?.status === 'compile_error';
  const ran = r !== null && !compileFailed;
  return {
    source_code: e?.source_code ?? null,
    language_id: e?.language_id ?? null,
    stdin: e?.stdin ?? null,
    expected_output: e?.expected_output ?? null,
    stdout: ran && r.stdout ? r.stdout : null,
    status_id: status.id,
    created_at: record.createdAt,
    finished_at: r?.finishedAt ?? null,
    time: ran ? decimal(r.timeMs / 1000, 3) : null,
    memory: ran ? r.memoryKb : null,
    stderr: ran && r.stderr ? r.stderr : null,
    token: record.clientId,
    number_of_runs: 1,
    cpu_time_limit: e ? decimal(e.cpu_time_limit) : null,
    cpu_extra_time: '0.0',
    wall_time_limit: e ? decimal(e.wall_time_limit) : null,
    memory_limit: e?.memory_limit ?? null,
    stack_limit: null,
    max_processes_and_or_threads: e?.max_processes_and_or_threads ?? null,
    enable_per_process_and_thread_time_limit: false,
    enable_per_process_and_thread_memory_limit: false,
    max_file_size: MAX_FILE_BYTES / 1024,
    compile_output: r?.compileOutput ? r.compileOutput : null,
    exit_code: ran ? r.exitCode : null,
    exit_signal: ran ? signalNumber(r.signal) : null,
    message: status.message,
    wall_time: ran ? decimal(r.wallTimeMs / 1000, 3) : null,
    compiler_options: null,
    command_line_arguments: e?.command_line_arguments ?? null,
    redirect_stderr_to_stdout: false,
    callback_url: e?.callback_url ?? null,
    additional_files: null,
    enable_network: false,
    status: describeStatus(status.id),
    language: e ? { id: e.language_id, name: e.language_name } : null,
  };
}

export class InvalidFields extends Error {
  constructor(readonly unknown: string[]) {
    super(`invalid fields: [${unknown.join(', ')}]`);
  }
}

/** `fields` as Judge0 reads it: a comma-separated list, `*` for all; an unknown name is an error. */
export function parseFields(raw: unknown): string[] {
  if (typeof raw !== 'string' || raw === '') return DEFAULT_FIELDS;
  if (raw.trim() === '*') return ALL_FIELDS;
  const fields = raw.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = fields.filter((f) => !ALL_FIELDS.includes(f));
  if (unknown.length) throw new InvalidFields(unknown);
  return fields;
}

export function pickFields(view: Record<string, unknown>, fields: string[], base64: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const v = view[f];
    out[f] = base64 && TEXT_FIELDS.includes(f) && typeof v === 'string' ? encode64(v) : v;
  }
  return out;
}
