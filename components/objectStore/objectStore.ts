// The local stack's S3-compatible object store, also the tests' S3 server: @20minutes/s3rver (the maintained
// continuation of s3rver) keeping objects in a directory, with three things added that a bucket on the clouds has and
// s3rver lacks: credentials of the deployment's own instead of s3rver's well-known key, no anonymous access (every
// request must be signed, and s3rver checks the signature), and expiry of objects older than a number of days (the
// lifecycle rule of the clouds' code buckets).
// Known limit: s3rver checks a bucket-level request's signature against the bucket's path without the trailing slash
// the AWS SDK v3 signs, so ListObjects from that SDK fails; the worker only reads objects (HeadObject, GetObject).
//
// Run directly (the image's entrypoint, Node >= 24 strips the types), it reads its settings from the environment:
//   OBJECT_STORE_ACCESS_KEY_ID, OBJECT_STORE_SECRET_ACCESS_KEY   required
//   OBJECT_STORE_BUCKETS            comma-separated buckets to create (kept when they exist)
//   OBJECT_STORE_EXPIRATION_DAYS    delete objects older than this (0 or unset: keep them)
//   OBJECT_STORE_DIR (/data), OBJECT_STORE_ADDRESS (0.0.0.0), OBJECT_STORE_PORT (9000)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import S3rver from '@20minutes/s3rver';
import AWSAccount from '@20minutes/s3rver/lib/models/account.js';

export interface ObjectStoreOptions {
  directory: string;
  address: string;
  /** 0: any free port. */
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  buckets: string[];
  /** Objects older than this many days are deleted by a sweep every SWEEP_INTERVAL_MS; 0 keeps them. */
  expirationDays?: number;
}

export interface RunningObjectStore {
  port: number;
  /** Deletes the objects past their expiry now; returns how many. */
  sweep(now?: Date): Promise<number>;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** The key s3rver registers for everyone; revoked, so only the deployment's credentials sign. */
const WELL_KNOWN_KEY = 'S3RVER';

function log(level: string, msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, component: 'object-store', ...fields })}\n`);
}

/** A request that carries one of S3's signatures (header, or a presigned URL's query, v2 or v4). */
function signed(req: IncomingMessage): boolean {
  if (req.headers.authorization) return true;
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  return query.has('X-Amz-Signature') || query.has('Signature');
}

function refuseAnonymous(res: ServerResponse): void {
  res.writeHead(403, { 'content-type': 'application/xml' });
  res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Anonymous access is not allowed: sign the request</Message></Error>');
}

/** Every object of every bucket, with its last-modified time. */
async function* objects(store: S3rver.FilesystemStore): AsyncGenerator<{ bucket: string; key: string; lastModified: Date }> {
  for (const { name } of await store.listBuckets()) {
    let startAfter = '';
    for (;;) {
      const page = await store.listObjects(name, { startAfter, maxKeys: 1000 });
      for (const o of page.objects) yield { bucket: name, key: o.key, lastModified: o.lastModifiedDate };
      if (!page.isTruncated || !page.objects.length) break;
      startAfter = page.objects.at(-1)!.key;
    }
  }
}

export async function startObjectStore(options: ObjectStoreOptions): Promise<RunningObjectStore> {
  if (!options.accessKeyId || !options.secretAccessKey) throw new Error('the object store needs an access key id and a secret access key');
  if (options.accessKeyId === WELL_KNOWN_KEY) throw new Error(`the access key id ${WELL_KNOWN_KEY} is s3rver's public one: choose another`);
  const s3rver = new S3rver({
    directory: options.directory,
    silent: true,
    // Path-style only, as every client of the stack addresses it: otherwise a request to a host name that is not an
    // address (the container's name on the stack's network) is taken for a request to a bucket of that name.
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  AWSAccount.registry.get(WELL_KNOWN_KEY)?.revokeAccessKey(WELL_KNOWN_KEY);
  new AWSAccount(123456789000, 'code-execution').createKeyPair(options.accessKeyId, options.secretAccessKey);
  await s3rver.configureBuckets();

  const handle = s3rver.callback();
  const server: Server = createServer((req, res) => (signed(req) ? handle(req, res) : refuseAnonymous(res)));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.address, resolve));
  const { port } = server.address() as { port: number };

  const expirationDays = options.expirationDays ?? 0;
  const sweep = async (now = new Date()): Promise<number> => {
    if (!expirationDays) return 0;
    const cutoff = now.getTime() - expirationDays * DAY_MS;
    let deleted = 0;
    for await (const o of objects(s3rver.store)) {
      if (o.lastModified.getTime() >= cutoff) continue;
      await s3rver.store.deleteObject(o.bucket, o.key);
      deleted++;
    }
    if (deleted) log('info', 'expired objects deleted', { deleted, expirationDays });
    return deleted;
  };
  const sweeping = setInterval(() => sweep().catch((err: Error) => log('error', 'expiry sweep failed; it runs again within the hour', { error: err.message })), SWEEP_INTERVAL_MS);
  sweeping.unref();

  return {
    port,
    sweep,
    async close() {
      clearInterval(sweeping);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function fromEnvironment(env: NodeJS.ProcessEnv): ObjectStoreOptions {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set: the object store needs the deployment's credentials`);
    return value;
  };
  const days = Number(env.OBJECT_STORE_EXPIRATION_DAYS ?? 0);
  if (!Number.isInteger(days) || days < 0) throw new Error(`OBJECT_STORE_EXPIRATION_DAYS must be a whole number of days, got ${env.OBJECT_STORE_EXPIRATION_DAYS}`);
  return {
    directory: env.OBJECT_STORE_DIR ?? '/data',
    address: env.OBJECT_STORE_ADDRESS ?? '0.0.0.0',
    port: Number(env.OBJECT_STORE_PORT ?? 9000),
    accessKeyId: required('OBJECT_STORE_ACCESS_KEY_ID'),
    secretAccessKey: required('OBJECT_STORE_SECRET_ACCESS_KEY'),
    buckets: (env.OBJECT_STORE_BUCKETS ?? '').split(',').filter(Boolean),
    expirationDays: days,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const options = fromEnvironment(process.env);
    const store = await startObjectStore(options);
    await store.sweep();
    log('info', 'object store listening', { address: options.address, port: store.port, buckets: options.buckets, expirationDays: options.expirationDays });
    const stop = () => void store.close().then(() => process.exit(0));
    process.once('SIGTERM', stop).once('SIGINT', stop);
  } catch (err) {
    log('error', 'object store failed to start', { error: (err as Error).message });
    process.exit(1);
  }
}
