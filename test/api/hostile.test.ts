// Hostile inputs found by the security review: each answered quickly with a short 4xx, and the service stays up.
// No workers unless a test needs them: nothing here needs code to run.
import { describe, expect, it } from 'vitest';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();

/** A request's answer and how long it took and how big it was. */
async function timed(url: string, init: RequestInit) {
  const started = Date.now();
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, ms: Date.now() - started, bytes: text.length, text };
}

describe('arrays without bounds in /v1 bodies', () => {
  it('a million bad elements: a fast, short 4xx before any schema walks them, and the service stays up', async () => {
    const api = await suite.start();
    const million = `[${Array.from({ length: 1_000_000 }, () => '1').join(',')}]`;
    const json = { 'content-type': 'application/json' };
    const heapBefore = process.memoryUsage().heapUsed;
    const cases = [
      ['/v1/jobs/batch', `{"jobs":${million}}`, 400],
      ['/v1/jobs', `{"language":"python","files":${million}}`, 422],
      ['/v1/jobs', `{"language":"python","code":"x","args":${million}}`, 422],
      ['/v1/jobs', `{"language":"python","code":"x","testCases":${million}}`, 422],
      ['/v1/jobs/batch', `{"jobs":[{"language":"python","files":${million}}]}`, 422],
    ] as const;
    for (const [path, body, status] of cases) {
      const res = await timed(`${api.url}${path}`, { method: 'POST', body, headers: json });
      expect({ path, status: res.status, short: res.bytes < 4096, fast: res.ms < 3000 }).toEqual({ path, status, short: true, fast: true });
    }
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(500 << 20);
    // Schema errors past the prechecks are cut to a few too.
    const bad = await call(`${api.url}/v1/jobs/batch`, { method: 'POST', json: { jobs: Array.from({ length: 20 }, () => ({ language: 1, code: 2, stdin: 3, timeLimitMs: 'x' })) } });
    expect(bad.status).toBe(400);
    expect(bad.body.details.length).toBeLessThanOrEqual(20);
    expect((await call(`${api.url}/healthz`)).status).toBe(200);
    expect(await api.redis.xlen(api.queue.stream)).toBe(0);
  });
});
