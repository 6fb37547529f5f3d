// Structured logs: one JSON object per line on stderr, so stdout stays free for command output.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function createLogger(base: Record<string, unknown> = {}, minLevel: LogLevel = (process.env.LOG_LEVEL as LogLevel) ?? 'info'): Logger {
  const threshold = Math.max(0, ORDER.indexOf(minLevel));
  const emit = (level: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER.indexOf(level) < threshold) return;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields })}\n`);
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel),
  };
}
