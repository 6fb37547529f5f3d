// A Logger that keeps its lines, so an in-process worker's test waits for what it logs instead of sleeping.
import type { Logger } from '../../core/logger.js';

export type Line = Record<string, unknown> & { level: string; msg: string };

export interface RecordingLogger extends Logger {
  lines: Line[];
  /** Resolves with the first line (past or future) that matches; fails loudly after timeoutMs. */
  waitFor(match: (l: Line) => boolean, timeoutMs?: number, what?: string): Promise<Line>;
}

export function recordingLogger(): RecordingLogger {
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  const make = (base: Record<string, unknown>): Logger => {
    const emit = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => {
      lines.push({ ...base, ...fields, level, msg });
      for (const w of [...waiters]) w();
    };
    return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (fields) => make({ ...base, ...fields }) };
  };
  const waitFor = (match: (l: Line) => boolean, timeoutMs = 30_000, what = 'a log line') =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no log of ${what} within ${timeoutMs} ms; the log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return Object.assign(make({}), { lines, waitFor });
}
