import { describe, expect, it } from 'vitest';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();

describe('smoke', () => {
  it('runs a python job through the native API', async () => {
    const api = await suite.start({ workers: 1 });
    const sub = await call(`${api.url}/v1/jobs`, { method: 'POST', json: { language: 'python', code: 'print(6*7)' } });
    expect(sub.status).toBe(202);
    const res = await call(`${api.url}/v1/jobs/${sub.body.id}?wait=30`);
    expect(res.body).toMatchObject({ status: 'accepted', stdout: '42\n', id: sub.body.id });
  });
});
