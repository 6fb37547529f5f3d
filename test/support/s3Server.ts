// A real S3-compatible server for tests: s3rver in this process, on a free port, storing in a temp dir.
// Clients sign with s3rver's fixed credentials (S3RVER / S3RVER) and use path-style addressing, as with MinIO.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** A client for the test itself (uploads). */
  client: S3Client;
  put(key: string, body: string | Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3(bucket = 'code-objects'): Promise<TestS3> {
  const dir = mkdtempSync(join(tmpdir(), 'test-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS,
    // s3rver predates the SDK's default request checksums (aws-chunked uploads): only send them when required.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    bucket,
    client,
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async stop() {
      client.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
