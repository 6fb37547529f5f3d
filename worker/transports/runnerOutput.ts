// Reads the runner program's one JSON line. The runner's stdout carries nothing else (user output travels
// inside the JSON), so anything unexpected means the runner did not finish: a TransportError.
import { STATUSES, type RunOutcome } from '../../runner/protocol/result.js';
import { TransportError } from './transport.js';

export function parseRunnerOutput(stdout: string, context: string): RunOutcome {
  const line = stdout.trim().split('\n').pop() ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new TransportError(`runner produced no result (${context}): ${line.slice(0, 200) || 'empty output'}`);
  }
  const o = value as Partial<RunOutcome>;
  if (typeof o !== 'object' || o === null || !STATUSES.includes(o.status as never) || typeof o.stdout !== 'string') {
    throw new TransportError(`runner result has an unexpected shape (${context})`);
  }
  return o as RunOutcome;
}
