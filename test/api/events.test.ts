// Progress and results pushed to clients: Server-Sent Events (queued, running when a worker starts the job,
// finished with the result), and callbacks delivered by the API tier to a receiver on this machine: our signed
// POST, checked with the documented signature check, and Judge0's PUT.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { verifySignature } from '../../api/callbackSignature.js';
import { workerStarted } from '../support/jobQueue.js';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A callback receiver on 127.0.0.1 that records each request; `answer` picks the status code. */
async function receiver(answer: (r: Received, n: number) => number = () => 200) {
  const got: Received[] = [];
  const waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      got.push(r);
      res.writeHead(answer(r, got.length)).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  receivers.push(server);
  return {
    url,
    got,
    async waitFor(count: number, timeoutMs = 30_000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs;
      while (got.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the receiver got ${got.length} of ${count} callbacks within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return got;
    },
  };
}
const receivers: Server[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Reads an SSE response until `finished` (or the stream ends), calling `onEvent` for each event as it comes. */
async function readEvents(res: Response, onEvent: (name: string, data: any) => void | Promise<void>): Promise<void> {
  const reader = res.body!.getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += Buffer.from(value).toString('utf8');
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!name) continue;
      await onEvent(name, JSON.parse(data ?? 'null'));
      if (name === 'finished') {
        await reader.cancel();
        return;
      }
    }
  }
}

describe('Server-Sent Events', () => {
  it('queued, then running when a worker starts the job, then finished with the result', async () => {
    const api = await suite.start();
    const sub = await call(`${api.url}/v1/jobs`, { method: 'POST', json: { id: 'progress-1', language: 'python', code: 'import time\ntime.sleep(0.5)\nprint("slept")' } });
    expect(sub).toMatchObject({ status: 202, body: { id: 'progress-1' } });
    expect((await call(`${api.url}/v1/jobs/progress-1`)).body).toEqual({ id: 'progress-1', status: 'queued' });

    const res = await fetch(`${api.url}/v1/jobs/progress-1/events`, { signal: AbortSignal.timeout(60_000) });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen: { name: string; data: any; polled?: unknown }[] = [];
    await readEvents(res, async (name, data) => {
      const entry: { name: string; data: any; polled?: unknown } = { name, data };
      seen.push(entry);
      // Nothing runs it yet: the worker starts only once the client has seen `queued`.
      if (name === 'queued') await workerStarted(api.queue.startWorker('process'));
      if (name === 'running') entry.polled = (await call(`${api.url}/v1/jobs/progress-1`)).body.status;
    });
    expect(seen.map((e) => e.name)).toEqual(['queued', 'running', 'finished']);
    expect(seen[1].data).toMatchObject({ id: 'progress-1', status: 'running', attempts: 1 });
    expect(['running', 'accepted']).toContain(seen[1].polled);
    expect(seen[2].data).toMatchObject({ id: 'progress-1', status: 'accepted', stdout: 'slept\n' });

    // A late subscriber gets the whole history at once.
    const late: string[] = [];
    await readEvents(await fetch(`${api.url}/v1/jobs/progress-1/events`), (name) => void late.push(name));
    expect(late).toEqual(['queued', 'running', 'finished']);
    expect((await call(`${api.url}/v1/jobs/nobody/events`)).status).toBe(404);
  });
});

describe('callbacks', () => {
  it('a signed POST of the result that passes the documented check; tampering fails it; retried with backoff', async () => {
    const api = await suite.start({ workers: 1, env: { CALLBACK_RETRY_BASE_MS: '50' } });
    // The first delivery is answered 500: the API tries again.
    const hook = await receiver((_r, n) => (n === 1 ? 500 : 204));
    const { body: { secret } } = await call(`${api.url}/v1/callback-secret`, { headers: { 'x-auth-token': 'tenant-one-token' } });
    const sub = await call(`${api.url}/v1/jobs`, {
      method: 'POST', headers: { 'x-auth-token': 'tenant-one-token' }, json: { id: 'cb-1', language: 'python', code: 'print("called back")', callbackUrl: `${hook.url}/hook?job=cb-1` },
    });
    expect(sub.status).toBe(202);
    const [first, second] = await hook.waitFor(2);
    expect(first.body).toBe(second.body);
    expect(second).toMatchObject({ method: 'POST', url: '/hook?job=cb-1', headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(second.body)).toMatchObject({ id: 'cb-1', status: 'accepted', stdout: 'called back\n' });
    const signature = second.headers['x-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);

    expect(verifySignature(secret, signature, second.body)).toBe(true);
    expect(verifySignature(secret, signature, second.body.replace('called back', 'called back!'))).toBe(false);
    expect(verifySignature(secret, signature.replace(/v1=./, (m) => (m.endsWith('0') ? 'v1=1' : 'v1=0')), second.body)).toBe(false);
    expect(verifySignature(`${secret}x`, signature, second.body)).toBe(false);
    // A replayed delivery: the timestamp is outside the tolerance.
    expect(verifySignature(secret, signature, second.body, Math.floor(Date.now() / 1000) + 3600)).toBe(false);
    // Another token's secret does not verify this token's callbacks.
    const other = (await call(`${api.url}/v1/callback-secret`, { headers: { 'x-auth-token': 'tenant-two-token' } })).body.secret;
    expect(other).not.toBe(secret);
    expect(verifySignature(other, signature, second.body)).toBe(false);
    await api.log.waitFor((l) => l.msg === 'callback delivered' && l.attempt === 2, 10_000, 'the second attempt delivered');
  });

  it('a replica that stops with a callback claimed: another one adopts it and delivers', async () => {
    const first = await suite.start();
    const hook = await receiver();
    expect((await call(`${first.url}/v1/jobs`, { method: 'POST', json: { id: 'orphan-1', language: 'python', code: 'print("adopted")', callbackUrl: `${hook.url}/orphan` } })).status).toBe(202);
    await first.log.waitFor((l) => l.msg === 'callbacks claimed', 10_000, 'the first replica claiming the callback');
    await first.server.close();
    const second = await suite.start({ env: { CALLBACK_ORPHAN_IDLE_MS: '1000' } });
    await second.log.waitFor((l) => l.msg === 'callbacks adopted from a stopped replica', 15_000, 'the second replica adopting it');
    await workerStarted(first.queue.startWorker('process'));
    const [post] = await hook.waitFor(1);
    expect(JSON.parse(post.body)).toMatchObject({ id: 'orphan-1', status: 'accepted', stdout: 'adopted\n' });
    expect(hook.got).toHaveLength(1);
  });

  it("Judge0's callback_url: a PUT of the submission's default fields, base64", async () => {
    const api = await suite.start({ workers: 1 });
    const hook = await receiver();
    const created = await call(`${api.url}/submissions`, { method: 'POST', json: { source_code: 'print("hi")', language_id: 71, callback_url: `${hook.url}/judge0` } });
    expect(created.status).toBe(201);
    const [put] = await hook.waitFor(1);
    expect(put.method).toBe('PUT');
    expect(put.headers['x-signature']).toBeUndefined();
    const body = JSON.parse(put.body);
    expect(Object.keys(body)).toEqual(['token', 'time', 'memory', 'stdout', 'stderr', 'compile_output', 'message', 'status']);
    expect(body).toMatchObject({ token: created.body.token, stdout: 'aGkK\n', status: { id: 3, description: 'Accepted' } });
  });

  it('refuses callback targets in private, loopback and link-local ranges unless CALLBACK_ALLOW_PRIVATE=true', async () => {
    const api = await suite.start({ env: { CALLBACK_ALLOW_PRIVATE: 'false' } });
    for (const target of ['http://127.0.0.1:9/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:9/x', 'http://192.168.0.1/', 'http://localhost:9/']) {
      const native = await call(`${api.url}/v1/jobs`, { method: 'POST', json: { language: 'python', code: 'print(1)', callbackUrl: target } });
      expect({ target, status: native.status }).toEqual({ target, status: 422 });
      expect(native.body.details[0]).toMatchObject({ path: 'callbackUrl', message: expect.stringContaining('private') });
      const judge0 = await call(`${api.url}/submissions`, { method: 'POST', json: { source_code: 'print(1)', language_id: 71, callback_url: target } });
      expect({ target, status: judge0.status }).toEqual({ target, status: 422 });
    }
    expect(await api.redis.xlen(api.queue.stream)).toBe(0);
  });
});
