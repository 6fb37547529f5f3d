// Hostile inputs found by the security review: each answered quickly with a short 4xx, and the service stays up.
// No workers unless a test needs them: nothing here needs code to run.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { sendCallback } from '../../api/callbackRequest.js';
import { checkCallbackTarget, isPrivateAddress, type Resolve } from '../../api/callbackTarget.js';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();

/** A loopback HTTP server answering 200, counting what reached it; `close` when done. */
async function hookServer(): Promise<{ port: number; hits: () => number; close(): void; server: Server }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, hits: () => hits, close: () => server.close(), server };
}

/** A resolver answering each name from a script, one answer per call: what a rebinding DNS server does. */
function scripted(...answers: string[]): Resolve {
  let call = 0;
  return async () => [{ address: answers[Math.min(call++, answers.length - 1)], family: 4 }];
}

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

describe('callback targets', () => {
  it('a name that resolves public at the check and to loopback at delivery is refused at delivery, and nothing reaches loopback', async () => {
    const hook = await hookServer();
    try {
      const url = `http://rebind.example:${hook.port}/hook`;
      const request = { method: 'POST' as const, headers: {}, body: '{}', timeoutMs: 5000, allowPrivate: false };
      const rebinding = scripted('93.184.216.34', '127.0.0.1');
      await expect(checkCallbackTarget(url, false, rebinding)).resolves.toBeInstanceOf(URL);
      await expect(sendCallback(url, { ...request, resolve: rebinding })).rejects.toThrow(/private, loopback or link-local range \(127\.0\.0\.1\)/);
      await expect(sendCallback(`http://127.0.0.1:${hook.port}/hook`, request)).rejects.toThrow(/127\.0\.0\.1/);
      await expect(sendCallback(`http://[::1]:${hook.port}/hook`, request)).rejects.toThrow(/::1/);
      expect(hook.hits()).toBe(0);
      // The connection goes to the address the check saw: a name only the injected resolver knows is reached.
      expect(await sendCallback(`http://only-the-test-knows.invalid:${hook.port}/hook`, { ...request, allowPrivate: true, resolve: scripted('127.0.0.1') })).toBe(200);
      expect(hook.hits()).toBe(1);
    } finally {
      hook.close();
    }
  });

  it('IPv4-compatible, 6to4 and site-local IPv6 addresses are private too', () => {
    for (const a of ['::7f00:1', '::a00:1', '2002:7f00:1::1', '2002:c0a8:101::1', 'fec0::1', 'feff::1']) expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    for (const a of ['2001:4860:4860::8888', '2a00:1450::1']) expect([a, isPrivateAddress(a)]).toEqual([a, false]);
  });
});

describe('Piston names', () => {
  it('a megabyte version range or language: a fast 400 that does not echo it', async () => {
    const api = await suite.start();
    const long = '1.'.repeat(500_000);
    for (const body of [
      { language: 'python', version: long, files: [{ content: 'print(1)' }] },
      { language: long, version: '*', files: [{ content: 'print(1)' }] },
      { language: 'python', version: '>=1 <2 || '.repeat(7), files: [{ content: 'print(1)' }] },
    ]) {
      const res = await timed(`${api.url}/api/v2/execute`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      expect({ status: res.status, short: res.bytes < 200, fast: res.ms < 1000 }).toEqual({ status: 400, short: true, fast: true });
      expect(JSON.parse(res.text).message).toMatch(/^(language|version) must be at most 64 characters$/);
    }
  });
});
