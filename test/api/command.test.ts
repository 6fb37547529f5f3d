// `code-exec api` as the process an operator starts: config validated at start with messages naming the
// variables, JSON logs (saying when the API is open), serving until SIGTERM, then exiting 0.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/freePort.js';
import { startLoggingProcess } from '../support/workerProcess.js';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'code-exec.js');

function startApi(env: Record<string, string>) {
  const api = startLoggingProcess([CLI, 'api'], env);
  return {
    ...api,
    waitForLog: (msg: string) => api.waitForLog((l) => l.msg === msg, 20_000, `"${msg}"`),
    /** Everything it wrote on stderr, JSON lines or not. */
    stderr: () => api.logs.map((l) => (l.msg === 'unstructured' ? String(l.line) : JSON.stringify(l))).join('\n'),
  };
}

describe('code-exec api', () => {
  it('refuses a bad configuration, naming each variable, without quoting secrets', async () => {
    const api = startApi({ API_PORT: 'http', RATE_LIMIT_PER_MINUTE: '-1', MAX_CODE_BYTES: 'lots', API_TOKENS: 'short', CALLBACK_SIGNING_KEY: 'tiny' });
    expect(await api.exited).toBe(2);
    const err = api.stderr();
    for (const name of ['API_PORT', 'RATE_LIMIT_PER_MINUTE', 'MAX_CODE_BYTES', 'API_TOKENS', 'CALLBACK_SIGNING_KEY']) expect(err).toContain(name);
    expect(err).not.toContain('tiny');
    expect(err).toContain('fix these environment variables');
  });

  it('serves until SIGTERM, logs as JSON that it is open, and exits 0', async () => {
    const port = await freePort();
    const api = startApi({ API_PORT: String(port), API_HOST: '127.0.0.1', REDIS_URL: suite.redis.url, STREAM_KEY: 'command-test-jobs' });
    const listening = await api.waitForLog('api listening');
    expect(listening).toMatchObject({ level: 'info', component: 'api', port, open: true });
    await api.waitForLog('API_TOKENS is not set: the API is open to anyone who can reach it (as Judge0 is by default)');
    expect((await call(`http://127.0.0.1:${port}/healthz`)).body).toEqual({ status: 'ok' });
    expect((await call(`http://127.0.0.1:${port}/about`)).body.version).toBe('1.13.1');
    api.proc.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });
});
