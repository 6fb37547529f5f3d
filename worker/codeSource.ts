// Code kept in S3: a job may name an object (`codeKey`) instead of carrying its code. The worker resolves it
// into `code` before the job reaches a transport (the runner has no network and no credentials).
// A missing or oversized object is the producer's mistake (`rejected`); any other S3 failure is the
// platform's (CodeSourceError: the entry stays pending and is retried, like a transport failure).
import { GetObjectCommand, HeadObjectCommand, S3Client, type S3ServiceException } from '@aws-sdk/client-s3';
import { checkCaps, JobRejected, type Job } from '../core/protocol/job.js';
import type { OperatorCaps } from '../core/protocol/limits.js';

/** Where `codeKey` objects come from. `fetch` throws JobRejected (the job's fault) or CodeSourceError. */
export interface CodeSource {
  readonly bucket: string;
  fetch(key: string, maxBytes: number, jobId: string): Promise<string>;
  close(): void;
}

/** S3 did not answer as it should (network, 5xx, credentials): retryable, not the job's fault. */
export class CodeSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodeSourceError';
  }
}

export interface S3CodeSourceOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (MinIO, s3rver); path-style addressing is used with it. */
  endpoint?: string | null;
  /** For tests: a client to use instead of one built from the options. */
  client?: S3Client;
}

function isNotFound(err: unknown): boolean {
  // HeadObject answers 404 without a body, which the SDK names NotFound; GetObject names NoSuchKey.
  const { name, $metadata } = err as S3ServiceException;
  return (name === 'NoSuchKey' || name === 'NotFound') && $metadata?.httpStatusCode === 404;
}

export class S3CodeSource implements CodeSource {
  readonly bucket: string;
  private readonly client: S3Client;

  constructor(options: S3CodeSourceOptions) {
    this.bucket = options.bucket;
    this.client =
      options.client ??
      new S3Client({
        region: options.region,
        ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
        // Credentials come from the SDK's default chain (environment, profile, web identity, instance role).
        // A hung S3 must not hold a job for long: the entry's claim is kept fresh meanwhile, but a retry
        // after a clear failure is better than waiting.
        requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000 },
        maxAttempts: 3,
      });
  }

  async fetch(key: string, maxBytes: number, jobId: string): Promise<string> {
    const where = `code object ${key}`;
    try {
      // The size is checked before anything is downloaded.
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      this.checkSize(key, head.ContentLength, maxBytes, jobId);
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      // The object may have been replaced between the two requests.
      this.checkSize(key, object.ContentLength, maxBytes, jobId);
      const bytes = await object.Body!.transformToByteArray();
      this.checkSize(key, bytes.byteLength, maxBytes, jobId);
      return Buffer.from(bytes).toString('utf8');
    } catch (err) {
      if (err instanceof JobRejected) throw err;
      if (isNotFound(err)) throw new JobRejected(`${where} not found in bucket ${this.bucket}`, jobId);
      throw new CodeSourceError(`cannot fetch ${where} from bucket ${this.bucket}: ${(err as Error).name}: ${(err as Error).message}`);
    }
  }

  private checkSize(key: string, size: number | undefined, maxBytes: number, jobId: string): void {
    if (size !== undefined && size > maxBytes) {
      throw new JobRejected(`code object ${key} is ${size} bytes, over the cap of ${maxBytes} bytes (MAX_CODE_BYTES)`, jobId);
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/**
 * The job as a transport runs it: `codeKey` replaced by the object's text, then the operator caps checked
 * again (the code's size is known only now). Jobs without `codeKey` are returned unchanged.
 */
export async function resolveCode(job: Job, source: CodeSource | null | undefined, caps: OperatorCaps): Promise<Job> {
  if (job.codeKey === undefined) return job;
  if (!source) throw new JobRejected(`job ${job.id} gives codeKey, but this worker has no S3_BUCKET configured`, job.id);
  const { codeKey, ...rest } = job;
  const resolved: Job = { ...rest, code: await source.fetch(codeKey, caps.maxCodeBytes, job.id) };
  checkCaps(resolved, caps);
  return resolved;
}
