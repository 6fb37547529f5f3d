// Hostile inputs found by the security review: each answered quickly with a short 4xx, and the service stays up.
// No workers unless a test needs them: nothing here needs code to run.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { REQUEST_TIMEOUT_MS } from '../../api/server.js';
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

describe('waiter slots', () => {
  it('one token cannot take every slot (MAX_WAITERS_PER_TOKEN), and an event stream ends after the longest a job may take', async () => {
    const A = { 'x-auth-token': 'token-of-tenant-a' };
    const B = { 'x-auth-token': 'token-of-tenant-b' };
    const api = await suite.start({
      env: { API_TOKENS: 'token-of-tenant-a token-of-tenant-b', MAX_WAITERS: '4', MAX_WAITERS_PER_TOKEN: '2', MAX_JOB_WALL_TIME_MS: '1000', MAX_WAIT_SECONDS: '1' },
    });
    for (const [h, id] of [[A, 'a'], [B, 'b']] as const) {
      expect((await call(`${api.url}/v1/jobs`, { method: 'POST', headers: h, json: { id, language: 'python', code: 'print(1)', timeLimitMs: 500, wallTimeLimitMs: 1000 } })).status).toBe(202);
    }
    const started = Date.now();
    const held = await Promise.all([1, 2].map(() => fetch(`${api.url}/v1/jobs/a/events`, { headers: A, signal: AbortSignal.timeout(20_000) })));
    expect(held.map((r) => r.status)).toEqual([200, 200]);
    expect(await call(`${api.url}/v1/jobs/a/events`, { headers: A })).toMatchObject({ status: 503, body: { error: expect.stringContaining('MAX_WAITERS_PER_TOKEN=2') } });
    expect(await call(`${api.url}/api/v2/execute`, { method: 'POST', headers: A, json: { language: 'python', version: '*', files: [{ content: 'print(1)' }], run_timeout: 1000, run_cpu_time: 500 } })).toMatchObject({ status: 503, body: { message: expect.stringContaining('MAX_WAITERS_PER_TOKEN=2') } });
    const other = await fetch(`${api.url}/v1/jobs/b/events`, { headers: B, signal: AbortSignal.timeout(20_000) });
    expect(other.status).toBe(200);
    // Nothing runs the jobs: each stream still ends, after MAX_JOB_WALL_TIME_MS + MAX_WAIT_SECONDS.
    const texts = await Promise.all([...held, other].map((r) => r.text()));
    for (const t of texts) expect(t).toContain('event: queued');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('MAX_WAITERS_PER_TOKEN is checked at start', () => {
    expect(() => loadApiConfig({ MAX_WAITERS: '2', MAX_WAITERS_PER_TOKEN: '3' })).toThrow(/MAX_WAITERS_PER_TOKEN=3: must be at most MAX_WAITERS \(2\)/);
    expect(() => loadApiConfig({ MAX_WAITERS_PER_TOKEN: 'x' })).toThrow(/MAX_WAITERS_PER_TOKEN/);
    expect(loadApiConfig({ MAX_WAITERS: '50' }).maxWaitersPerToken).toBe(5);
  });
});

describe('batches', () => {
  it('a batch with one id already in use is answered 409 and queues none of its jobs', async () => {
    const api = await suite.start();
    const job = (id: string) => ({ id, language: 'python', code: 'print(1)' });
    expect((await call(`${api.url}/v1/jobs`, { method: 'POST', json: job('used') })).status).toBe(202);
    const res = await call(`${api.url}/v1/jobs/batch`, { method: 'POST', json: { jobs: [job('fresh-1'), job('used'), job('fresh-2')] } });
    expect(res).toMatchObject({ status: 409, body: { error: 'id "used" is already in use: nothing was queued' } });
    expect(await api.redis.xlen(api.queue.stream)).toBe(1);
    for (const id of ['fresh-1', 'fresh-2']) expect((await call(`${api.url}/v1/jobs/${id}`)).status).toBe(404);
    // The same ids, without the one in use, go through: nothing of the refused batch was kept.
    expect(await call(`${api.url}/v1/jobs/batch`, { method: 'POST', json: { jobs: [job('fresh-1'), job('fresh-2')] } })).toMatchObject({ status: 202, body: { jobs: [{ id: 'fresh-1' }, { id: 'fresh-2' }] } });
    expect(await api.redis.xlen(api.queue.stream)).toBe(3);
  });
});

describe('waits', () => {
  it('a fractional wait blocks that long and answers the state, not a 500', async () => {
    const api = await suite.start();
    expect((await call(`${api.url}/v1/jobs`, { method: 'POST', json: { id: 'slow', language: 'python', code: 'print(1)' } })).status).toBe(202);
    const started = Date.now();
    expect(await call(`${api.url}/v1/jobs/slow?wait=0.2345`)).toMatchObject({ status: 200, body: { id: 'slow', status: 'queued' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(api.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});

describe('callback deliveries', () => {
  it('at most CALLBACK_CONCURRENCY at once; the others wait their turn and are all delivered', async () => {
    let inFlight = 0;
    let most = 0;
    const held: (() => void)[] = [];
    const server = createServer((req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      req.resume();
      held.push(() => {
        inFlight--;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const api = await suite.start({ env: { CALLBACK_CONCURRENCY: '1' }, workers: 1 });
      for (const id of ['cb-1', 'cb-2', 'cb-3']) {
        expect((await call(`${api.url}/v1/jobs`, { method: 'POST', json: { id, language: 'python', code: 'print(1)', callbackUrl: hook } })).status).toBe(202);
      }
      for (const id of ['cb-1', 'cb-2', 'cb-3']) expect((await call(`${api.url}/v1/jobs/${id}?wait=30`)).body).toMatchObject({ status: 'accepted' });
      // One delivery is held open by the receiver; the other two wait for its slot instead of connecting.
      for (let n = 1; n <= 2; n++) await api.log.waitFor((l) => l.msg === 'callback waiting for a delivery slot' && api.log.lines.filter((x) => x.msg === l.msg).length >= n, 10_000, `delivery ${n} waiting`);
      expect(inFlight).toBe(1);
      for (let n = 1; n <= 3; n++) {
        await expect.poll(() => held.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(n);
        held[n - 1]();
        await api.log.waitFor(() => api.log.lines.filter((l) => l.msg === 'callback delivered').length >= n, 10_000, `callback ${n} delivered`);
      }
      expect(most).toBe(1);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("a callback's answer body is not read: a receiver that never stops sending does not hold the delivery", async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200);
      const chunk = Buffer.alloc(1 << 16);
      const pump = () => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const status = await sendCallback(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'POST', headers: {}, body: '{}', timeoutMs: 5000, allowPrivate: true });
      expect({ status, fast: Date.now() - started < 2000 }).toEqual({ status: 200, fast: true });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('rate limit without a token', () => {
  it('refused tokens and public paths count against the client address: token guessing gets 429 too; probes never do', async () => {
    // The requests must fall in one minute window.
    if (Date.now() % 60_000 > 50_000) await sleep(60_000 - (Date.now() % 60_000));
    const api = await suite.start({ env: { API_TOKENS: 'token-of-tenant-a', RATE_LIMIT_PER_MINUTE: '3' } });
    const codes = [];
    for (const guess of ['guess-0001', 'guess-0002']) codes.push((await call(`${api.url}/v1/languages`, { headers: { 'x-auth-token': guess } })).status);
    codes.push((await call(`${api.url}/openapi.json`)).status);
    const limited = await call(`${api.url}/v1/languages`, { headers: { 'x-auth-token': 'guess-0003' } });
    codes.push(limited.status, (await call(`${api.url}/openapi.json`)).status, (await call(`${api.url}/healthz`)).status);
    expect(codes).toEqual([401, 401, 200, 429, 429, 200]);
    expect(limited.body.error).toMatch(/per client address/);
    // The token's own budget is untouched.
    expect((await call(`${api.url}/v1/languages`, { headers: { 'x-auth-token': 'token-of-tenant-a' } })).status).toBe(200);
  });
});

describe('small things', () => {
  it("Judge0: a refused token gets an empty 401, a token of any length that is not ours Judge0's 404; requests must arrive within 30 s", async () => {
    const api = await suite.start({ env: { API_TOKENS: 'token-of-tenant-a' } });
    const refused = await fetch(`${api.url}/submissions/x`, { headers: { 'x-auth-token': 'not-our-token' } });
    expect({ status: refused.status, body: await refused.text() }).toEqual({ status: 401, body: '' });
    expect((await call(`${api.url}/v1/languages`)).body).toMatchObject({ error: expect.stringContaining('unauthorized') });
    const A = { 'x-auth-token': 'token-of-tenant-a' };
    for (const token of ['x'.repeat(65), 'x'.repeat(90), 'no-such-token']) {
      expect(await call(`${api.url}/submissions/${token}`, { headers: A })).toMatchObject({ status: 404, body: { status: 404, error: 'Not Found' } });
    }
    expect(REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(api.server.app.server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
  });
});
