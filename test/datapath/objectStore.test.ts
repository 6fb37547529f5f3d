// The local stack's object store (components/objectStore/objectStore.ts) keeps a bucket's promises: only the
// deployment's key signs, nothing is served to an unsigned request, and objects past the expiry are deleted.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startObjectStore, type RunningObjectStore } from '../../components/objectStore/objectStore.js';

const BUCKET = 'code-execution';
const KEY = { accessKeyId: 'deployment-key', secretAccessKey: 'deployment-secret-0123456789' };
let dir: string;
let store: RunningObjectStore;
let endpoint: string;

const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
const exists = (key: string): Promise<boolean> =>
  client(KEY).send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(() => true, (err: { name?: string }) => {
    if (err.name === 'NotFound') return false;
    throw err;
  });
const put = (key: string) => fetch(`${endpoint}/${BUCKET}/${key}`, { method: 'PUT', body: 'x' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'object-store-'));
  store = await startObjectStore({ directory: dir, address: '127.0.0.1', port: 0, buckets: [BUCKET], expirationDays: 30, ...KEY });
  endpoint = `http://127.0.0.1:${store.port}`;
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local object store', () => {
  it('stores and serves objects signed with the deployment key', async () => {
    await client(KEY).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'jobs/a.py', Body: 'print(1)\n' }));
    const got = await client(KEY).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'jobs/a.py' }));
    expect(await got.Body!.transformToString()).toBe('print(1)\n');
  });

  it('refuses unsigned requests, s3rver\'s well-known key and a wrong secret', async () => {
    const anonymous = await put('jobs/anon.py');
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toMatch(/AccessDenied/);
    expect((await fetch(`${endpoint}/${BUCKET}/jobs/a.py`)).status).toBe(403);
    await expect(client({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'jobs/a.py' }))).rejects.toThrow(/InvalidAccessKeyId|does not exist/);
    await expect(client({ ...KEY, secretAccessKey: 'wrong' }).send(new GetObjectCommand({ Bucket: BUCKET, Key: 'jobs/a.py' }))).rejects.toThrow(/SignatureDoesNotMatch|signature/i);
    expect(await exists('jobs/a.py')).toBe(true);
    expect(await exists('jobs/anon.py')).toBe(false);
  });

  it('deletes objects older than the expiry, and only those', async () => {
    expect(await store.sweep()).toBe(0);
    const in29Days = new Date(Date.now() + 29 * 86_400_000);
    expect(await store.sweep(in29Days)).toBe(0);
    const in31Days = new Date(Date.now() + 31 * 86_400_000);
    expect(await store.sweep(in31Days)).toBe(1);
    expect(await exists('jobs/a.py')).toBe(false);
  });

  it('will not start with s3rver\'s public key or without credentials', async () => {
    await expect(startObjectStore({ directory: dir, address: '127.0.0.1', port: 0, buckets: [], accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })).rejects.toThrow(/public/);
    await expect(startObjectStore({ directory: dir, address: '127.0.0.1', port: 0, buckets: [], accessKeyId: '', secretAccessKey: '' })).rejects.toThrow(/access key/);
  });
});
