// Tenants and limits: tokens, ids scoped per token, the per-token rate limit kept in Redis (shared by replicas),
// queue-full answers, and every bad input a clear 4xx with nothing queued. No workers: nothing here runs code.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();
const A = { 'x-auth-token': 'token-of-tenant-a' };
const B = { authorization: 'Bearer token-of-tenant-b' };
const TOKENS = 'token-of-tenant-a token-of-tenant-b';
const job = (extra: Record<string, unknown> = {}) => ({ language: 'python', code: 'print(1)', ...extra });

describe('tokens and ids', () => {
  it("one token can neither read nor pre-empt another's job by its id", async () => {
    const api = await suite.start({ env: { API_TOKENS: TOKENS } });
    expect((await call(`${api.url}/v1/jobs`, { method: 'POST', json: job() })).status).toBe(401);
    expect((await call(`${api.url}/v1/jobs`, { method: 'POST', headers: { 'x-auth-token': 'not-a-token-at-all' }, json: job() })).status).toBe(401);
    expect((await call(`${api.url}/languages`)).status).toBe(401);
    expect((await call(`${api.url}/healthz`)).status).toBe(200);

    expect(await call(`${api.url}/v1/jobs`, { method: 'POST', headers: A, json: job({ id: 'shared-id' }) })).toMatchObject({ status: 202, body: { id: 'shared-id' } });
    expect((await call(`${api.url}/v1/jobs/shared-id`, { headers: A })).body).toEqual({ id: 'shared-id', status: 'queued' });
    expect((await call(`${api.url}/v1/jobs/shared-id`, { headers: B })).status).toBe(404);
    expect((await call(`${api.url}/v1/jobs/shared-id/events`, { headers: B })).status).toBe(404);
    // B may use the same id: it names B's own job, not A's.
    expect(await call(`${api.url}/v1/jobs`, { method: 'POST', headers: B, json: job({ id: 'shared-id', code: 'print(2)' }) })).toMatchObject({ status: 202 });
    expect(await call(`${api.url}/v1/jobs`, { method: 'POST', headers: A, json: job({ id: 'shared-id' }) })).toMatchObject({ status: 409 });
    const entries = await api.redis.xrange(api.queue.stream, '-', '+');
    const queued = entries.map(([, f]) => JSON.parse(f[1]) as { id: string; code: string });
    expect(queued.map((j) => j.code)).toEqual(['print(1)', 'print(2)']);
    expect(queued[0].id).not.toBe(queued[1].id);
    for (const j of queued) expect(j.id).toMatch(/^shared-id-[A-Za-z0-9_-]{22}$/);

    // Judge0 tokens too.
    const created = await call(`${api.url}/submissions`, { method: 'POST', headers: A, json: { source_code: 'print(1)', language_id: 71 } });
    expect(created.status).toBe(201);
    expect((await call(`${api.url}/submissions/${created.body.token}`, { headers: A })).status).toBe(200);
    expect((await call(`${api.url}/submissions/${created.body.token}?X-Auth-Token=token-of-tenant-b`)).status).toBe(404);
    expect((await call(`${api.url}/submissions/batch?tokens=${created.body.token}`, { headers: B })).body).toEqual({ submissions: [null] });
  });
});

describe('limits', () => {
  it('rate limit per token, counted in Redis across replicas: X-RateLimit-* headers, then 429', async () => {
    // Three requests must fall in one minute window.
    if (Date.now() % 60_000 > 50_000) await sleep(60_000 - (Date.now() % 60_000));
    const env = { RATE_LIMIT_PER_MINUTE: '3', API_TOKENS: TOKENS };
    const one = await suite.start({ env });
    const two = await suite.start({ env });
    const r1 = await call(`${one.url}/v1/languages`, { headers: A });
    expect(r1.status).toBe(200);
    expect([r1.headers.get('x-ratelimit-limit'), r1.headers.get('x-ratelimit-remaining')]).toEqual(['3', '2']);
    expect(Number(r1.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect((await call(`${two.url}/languages`, { headers: A })).headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await call(`${one.url}/api/v2/runtimes`, { headers: A })).headers.get('x-ratelimit-remaining')).toBe('0');
    const limited = await call(`${two.url}/v1/jobs`, { method: 'POST', headers: A, json: job() });
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatch(/rate limit/);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const judge0 = await call(`${one.url}/submissions`, { method: 'POST', headers: A, json: { source_code: 'x', language_id: 71 } });
    expect(judge0).toMatchObject({ status: 429, body: { error: expect.stringMatching(/rate limit/) } });
    expect((await call(`${one.url}/api/v2/execute`, { method: 'POST', headers: A, json: {} })).body).toEqual({ message: expect.stringMatching(/rate limit/) });
    // Another token has its own budget.
    expect((await call(`${one.url}/v1/languages`, { headers: B })).status).toBe(200);
    expect(await one.redis.xlen(one.queue.stream)).toBe(0);

    // Open (no API_TOKENS): made-up tokens do not buy a fresh budget; the client's address is counted.
    const open = await suite.start({ env: { RATE_LIMIT_PER_MINUTE: '2' } });
    const codes = [];
    for (const token of ['made-up-1', 'made-up-2', 'made-up-3']) codes.push((await call(`${open.url}/v1/languages`, { headers: { 'x-auth-token': token } })).status);
    expect(codes).toEqual([200, 200, 429]);
  });

  it('queue over MAX_QUEUE_SIZE: 503 {"error":"queue is full"} and nothing queued', async () => {
    const api = await suite.start({ env: { MAX_QUEUE_SIZE: '2' } });
    for (const i of [1, 2]) expect((await call(`${api.url}/v1/jobs`, { method: 'POST', json: job({ id: `fill-${i}` }) })).status).toBe(202);
    const judge0 = await call(`${api.url}/submissions`, { method: 'POST', json: { source_code: 'print(1)', language_id: 71 } });
    expect(judge0).toMatchObject({ status: 503, body: { error: 'queue is full' } });
    expect(Object.keys(judge0.body)).toEqual(['error']);
    expect(await call(`${api.url}/v1/jobs`, { method: 'POST', json: job() })).toMatchObject({ status: 503, body: { error: 'queue is full' } });
    expect(await call(`${api.url}/v1/jobs/batch`, { method: 'POST', json: { jobs: [job(), job()] } })).toMatchObject({ status: 503 });
    expect(await call(`${api.url}/api/v2/execute`, { method: 'POST', json: { language: 'python', version: '*', files: [{ content: 'print(1)' }] } })).toMatchObject({ status: 503, body: { message: 'queue is full' } });
    expect(await api.redis.xlen(api.queue.stream)).toBe(2);
  });

  it('blocking waits past MAX_WAITERS: answered at once (wait) or 503 (SSE, Piston), and the slot comes back', async () => {
    const api = await suite.start({ env: { MAX_WAITERS: '1' } });
    const waiters = async () => Number(/^code_execution_api_waiters (\d+)$/m.exec(await (await fetch(`${api.url}/metrics`)).text())?.[1]);
    expect((await call(`${api.url}/v1/jobs`, { method: 'POST', json: job({ id: 'held' }) })).status).toBe(202);
    const holder = new AbortController();
    const first = await fetch(`${api.url}/v1/jobs/held/events`, { signal: holder.signal });
    expect(first.status).toBe(200);
    expect(await waiters()).toBe(1);
    expect(await call(`${api.url}/v1/jobs/held/events`)).toMatchObject({ status: 503, body: { error: expect.stringContaining('MAX_WAITERS=1') } });
    expect((await call(`${api.url}/v1/jobs/held?wait=30`)).body).toEqual({ id: 'held', status: 'queued' });
    const judge0 = await call(`${api.url}/submissions?wait=true`, { method: 'POST', json: { source_code: 'print(1)', language_id: 71 } });
    expect(judge0).toMatchObject({ status: 201, body: { status: { id: 1, description: 'In Queue' } } });
    expect(await call(`${api.url}/api/v2/execute`, { method: 'POST', json: { language: 'python', version: '*', files: [{ content: 'print(1)' }] } })).toMatchObject({ status: 503 });
    holder.abort();
    await expect.poll(waiters, { timeout: 10_000 }).toBe(0);
    const again = await fetch(`${api.url}/v1/jobs/held/events`, { signal: AbortSignal.timeout(10_000) });
    expect(again.status).toBe(200);
    await again.body?.cancel();
    await expect.poll(waiters, { timeout: 10_000 }).toBe(0);

    // A client that gives up on a long wait releases its slot (and its Redis connection) at once.
    const impatient = new AbortController();
    const gaveUp = fetch(`${api.url}/v1/jobs/held?wait=60`, { signal: impatient.signal }).catch((err: Error) => err.name);
    await expect.poll(waiters, { timeout: 10_000 }).toBe(1);
    impatient.abort();
    expect(await gaveUp).toBe('AbortError');
    await expect.poll(waiters, { timeout: 10_000 }).toBe(0);
  });

  it('every bad input is a clear 4xx, checked with the workers\' schema and caps (from the same variables); nothing queued, nothing crashes', async () => {
    const api = await suite.start({ env: { MAX_CODE_BYTES: '100', BODY_LIMIT_BYTES: '4096' } });
    const post = (json: unknown, path = '/v1/jobs') => call(`${api.url}${path}`, { method: 'POST', json });
    expect(await post(job({ language: 'malbolge' }))).toMatchObject({ status: 422, body: { error: 'invalid job', details: [{ message: expect.stringContaining('unknown language "malbolge"') }] } });
    expect(await post(job({ code: 'x'.repeat(101) }))).toMatchObject({ status: 422, body: { details: [{ message: expect.stringContaining('code bytes 101 exceeds the cap 100') }] } });
    expect(await post({ language: 'python' })).toMatchObject({ status: 422, body: { details: [{ message: 'give exactly one of "code", "files" or "codeKey"' }] } });
    expect(await post(job({ surprise: true }))).toMatchObject({ status: 422, body: { details: [{ message: expect.stringContaining('surprise') }] } });
    expect(await post(job({ codeKey: 'someone/elses/code.py', code: undefined }))).toMatchObject({ status: 422, body: { details: [{ path: 'codeKey' }] } });
    expect(await post(job({ timeLimitMs: -5 }))).toMatchObject({ status: 400, body: { error: 'invalid body', details: [{ path: 'timeLimitMs' }] } });
    expect(await post(job({ id: '../../etc' }))).toMatchObject({ status: 400, body: { details: [{ path: 'id' }] } });
    expect(await post({ jobs: [job(), job({ language: 'malbolge' })] }, '/v1/jobs/batch')).toMatchObject({ status: 422, body: { details: [{ path: 'jobs.1.' }] } });
    expect(await post(job({ code: 'y'.repeat(5000) }))).toMatchObject({ status: 413, body: { error: expect.stringContaining('BODY_LIMIT_BYTES') } });
    expect(await post({ source_code: 'x'.repeat(101), language_id: 71 }, '/submissions')).toMatchObject({ status: 422, body: { source_code: [expect.stringContaining('cap 100')] } });
    expect(await post({ language: 'python', version: '*', files: [{ content: 'x'.repeat(101) }] }, '/api/v2/execute')).toMatchObject({ status: 400 });
    const garbage = ['{', '[]', '"text"', '12', 'null', '{"language":{"$gt":""}}', `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, '\u0000\u0001'];
    for (const path of ['/v1/jobs', '/v1/jobs/batch', '/submissions', '/submissions/batch', '/api/v2/execute']) {
      for (const body of garbage) {
        const res = await call(`${api.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        expect({ path, body: body.slice(0, 30), ok: res.status >= 400 && res.status < 500 }).toEqual({ path, body: body.slice(0, 30), ok: true });
      }
    }
    expect(await call(`${api.url}/v1/jobs/${'x'.repeat(300)}`)).toMatchObject({ status: 414 });
    expect(await call(`${api.url}/v1/nowhere`)).toMatchObject({ status: 404, body: { error: expect.stringContaining('/docs') } });
    expect((await call(`${api.url}/healthz`)).status).toBe(200);
    expect(await api.redis.xlen(api.queue.stream)).toBe(0);
    expect(api.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('OpenAPI at /openapi.json, docs at /docs, /healthz, /readyz, /metrics', async () => {
    const api = await suite.start();
    const spec = (await call(`${api.url}/openapi.json`)).body;
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/events', '/v1/languages', '/submissions', '/submissions/{token}', '/submissions/batch', '/languages', '/config_info', '/api/v2/runtimes', '/api/v2/execute']));
    expect(spec.paths['/v1/jobs'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('timeLimitMs');
    const docs = await fetch(`${api.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
    expect((await call(`${api.url}/readyz`)).body).toEqual({ ready: true });
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toContain('code_execution_api_requests_total');
    expect(metrics).toContain('code_execution_api_queue_size 0');
  });
});
