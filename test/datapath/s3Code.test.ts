// Code from S3 (`codeKey`): resolved by the worker against a real S3-compatible server (s3rver), checked for
// size before download; the schema and the judge's refusal of an unresolved key. No sandbox runs here.
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobRejected, normalizeJob, type Job } from '../../core/protocol/job.js';
import { DEFAULT_CAPS } from '../../core/protocol/limits.js';
import { planJob } from '../../core/judge.js';
import { CodeSourceError, resolveCode, S3CodeSource } from '../../worker/codeSource.js';
import { freePort } from '../support/freePort.js';
import { startS3, type TestS3 } from '../support/s3Server.js';

let s3: TestS3;
let source: S3CodeSource;
const caps = { ...DEFAULT_CAPS, maxCodeBytes: 1000 };

beforeAll(async () => {
  // The worker takes credentials from the SDK's default chain; here, the environment.
  s3 = await startS3();
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  source = new S3CodeSource({ bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint });
  await s3.put('jobs/hello.py', 'print("hello from s3")\n');
  await s3.put('jobs/big.py', `# ${'x'.repeat(2000)}\n`);
  await s3.put('jobs/ünïcode.py', 'print("é")\n');
});
afterAll(async () => {
  source?.close();
  await s3?.stop();
});

const job = (fields: Record<string, unknown>): Job => normalizeJob({ id: 'job-1', language: 'python', ...fields });

async function rejection(p: Promise<unknown>): Promise<JobRejected> {
  const err = await p.then(() => null, (e: unknown) => e);
  if (err instanceof JobRejected) return err;
  throw new Error(`expected a JobRejected, got ${String(err)}`);
}

describe('codeKey in the job schema', () => {
  it('is a third, exclusive source of code', () => {
    expect(job({ codeKey: 'jobs/hello.py' })).toMatchObject({ codeKey: 'jobs/hello.py', code: undefined });
    expect(() => job({ codeKey: 'a.py', code: 'print(1)' })).toThrow(/exactly one of "code", "files" or "codeKey"/);
    expect(() => job({ codeKey: 'a.py', files: [{ name: 'a.py', content: '' }] })).toThrow(/exactly one/);
  });

  it.each([
    ['/etc/passwd', /codeKey may not start with "\/"/],
    ['jobs/../secrets.py', /codeKey may not contain "\.\." segments/],
    ['', /codeKey must not be empty/],
    ['k'.repeat(1025), /codeKey is at most 1024 characters/],
  ])('refuses the key %j', (codeKey, message) => {
    expect(() => job({ codeKey })).toThrow(message);
  });

  it('accepts keys with dots that are not a ".." segment', () => {
    expect(job({ codeKey: 'jobs/v1..2/main.py' }).codeKey).toBe('jobs/v1..2/main.py');
  });
});

describe('resolving codeKey from S3', () => {
  it('replaces codeKey with the object text', async () => {
    const resolved = await resolveCode(job({ codeKey: 'jobs/hello.py' }), source, caps);
    expect(resolved.code).toBe('print("hello from s3")\n');
    expect('codeKey' in resolved).toBe(false);
    // What crosses to the runner is an ordinary job with code.
    expect(JSON.parse(JSON.stringify(resolved))).toEqual(JSON.parse(JSON.stringify(job({ code: 'print("hello from s3")\n' }))));
    expect((await resolveCode(job({ codeKey: 'jobs/ünïcode.py' }), source, caps)).code).toBe('print("é")\n');
  });

  it('leaves a job without codeKey as it is', async () => {
    const plain = job({ code: 'print(1)' });
    expect(await resolveCode(plain, source, caps)).toBe(plain);
    expect(await resolveCode(plain, null, caps)).toBe(plain);
  });

  it('a missing key is rejected, naming the key and the bucket', async () => {
    const err = await rejection(resolveCode(job({ codeKey: 'jobs/nope.py' }), source, caps));
    expect(err.message).toBe(`code object jobs/nope.py not found in bucket ${s3.bucket}`);
    expect(err.jobId).toBe('job-1');
  });

  it('an object over MAX_CODE_BYTES is rejected from its size alone, before any download', async () => {
    const commands: string[] = [];
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: s3.credentials });
    client.middlewareStack.add((next, context) => (args) => {
      commands.push(context.commandName!);
      return next(args);
    }, { step: 'initialize', name: 'recordCommands' });
    const counted = new S3CodeSource({ bucket: s3.bucket, region: 'us-east-1', client });
    try {
      const err = await rejection(resolveCode(job({ codeKey: 'jobs/big.py' }), counted, caps));
      expect(err.message).toBe('code object jobs/big.py is 2003 bytes, over the cap of 1000 bytes (MAX_CODE_BYTES)');
      expect(commands).toEqual(['HeadObjectCommand']);
      commands.length = 0;
      await resolveCode(job({ codeKey: 'jobs/hello.py' }), counted, caps);
      expect(commands).toEqual(['HeadObjectCommand', 'GetObjectCommand']);
    } finally {
      counted.close();
    }
  });

  it('a worker without S3_BUCKET rejects codeKey jobs', async () => {
    const err = await rejection(resolveCode(job({ codeKey: 'jobs/hello.py' }), null, caps));
    expect(err.message).toMatch(/this worker has no S3_BUCKET configured/);
  });

  it('an unreachable S3 is an infrastructure failure (retried), not a rejection', async () => {
    const down = new S3CodeSource({ bucket: s3.bucket, region: 'us-east-1', endpoint: `http://127.0.0.1:${await freePort()}` });
    try {
      const err = await resolveCode(job({ codeKey: 'jobs/hello.py' }), down, caps).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(CodeSourceError);
      expect(err).not.toBeInstanceOf(JobRejected);
      expect((err as Error).message).toMatch(/cannot fetch code object jobs\/hello.py from bucket code-objects: .*ECONNREFUSED/);
    } finally {
      down.close();
    }
  });
});

describe('the judge', () => {
  it('refuses a job that still carries codeKey (the worker resolves it): never an empty program in its place', () => {
    const unresolved = normalizeJob({ id: 'unresolved', language: 'python', codeKey: 'jobs/hello.py' });
    expect(() => planJob(unresolved)).toThrow(JobRejected);
    expect(() => planJob(unresolved)).toThrow(/still carries codeKey "jobs\/hello.py"; the worker resolves codeKey/);
  });
});
