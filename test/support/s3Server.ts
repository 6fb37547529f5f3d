// A real S3-compatible server for tests: the local stack's own object store (components/objectStore/objectStore.ts)
// in this process, on a free port, storing in a temp dir, with credentials of its own. Clients sign with them and use
// path-style addressing, as against the local stack.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startObjectStore } from '../../components/objectStore/objectStore.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface TestS3 {
  endpoint: string;
  bucket: string;
  credentials: S3Credentials;
  /** A client for the test itself (uploads). */
  client: S3Client;
  put(key: string, body: string | Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

export interface TestS3Options {
  /** Where it listens: loopback unless containers must reach it (a bridge's gateway address). */
  address?: string;
}

export async function startS3(bucket = 'code-objects', { address = '127.0.0.1' }: TestS3Options = {}): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 'test-s3-'));
  const credentials = { accessKeyId: `test-${randomBytes(6).toString('hex')}`, secretAccessKey: randomBytes(24).toString('hex') };
  const store = await startObjectStore({ directory: dir, address, port: 0, buckets: [bucket], ...credentials });
  const endpoint = `http://${address}:${store.port}`;
  const client = new S3Client({
    endpoint, forcePathStyle: true, region: 'us-east-1', credentials,
    // s3rver predates the SDK's default request checksums (aws-chunked uploads): only send them when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    bucket,
    credentials,
    client,
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async stop() {
      client.destroy();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
