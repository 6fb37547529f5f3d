// What the worker's and the API's configurations share: the environment read once at start, with zod schemas
// whose messages say what a variable must be, the operator caps from their variables, and one error that lists
// every problem with the variable's name.
import { z } from 'zod';
import { CAP_ENV, DEFAULT_CAPS, type OperatorCaps } from '../core/protocol/limits.js';

/** Linux's MAX_ARG_STRLEN: the longest single argument or environment string execve accepts. */
const LINUX_MAX_ARG_STRLEN = 128 * 1024;

export const int = (min: number) => z.coerce.number({ invalid_type_error: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min}`);

export const bool = z.enum(['true', 'false'], { errorMap: () => ({ message: 'must be true or false' }) });

/** An unset or empty variable (as manifests often write them) is absent. */
export const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** The operator caps (CAP_ENV), defaults where unset; adds a line to `problems` for each bad one. */
export function readCaps(env: NodeJS.ProcessEnv, problems: string[]): OperatorCaps {
  const caps = { ...DEFAULT_CAPS };
  for (const [key, name] of Object.entries(CAP_ENV) as [keyof OperatorCaps, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) problems.push(`${name}=${JSON.stringify(raw)}: must be a whole number ≥ 1`);
    else caps[key] = value;
  }
  // A longer argument would fail at exec (E2BIG) inside every sandbox: a platform error instead of a rejection.
  if (caps.maxArgBytes > LINUX_MAX_ARG_STRLEN) problems.push(`MAX_ARG_BYTES=${caps.maxArgBytes}: must be at most ${LINUX_MAX_ARG_STRLEN} (Linux refuses a longer argument at exec)`);
  return caps;
}

/** Every problem of a configuration, each naming its variable, and what to do. */
export class EnvConfigError extends Error {
  constructor(what: string, problems: string[]) {
    super(`invalid ${what} configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nfix these environment variables and start again`);
    this.name = 'EnvConfigError';
  }
}
