// The gcp target's code bucket and the workers' identity for it: GCS with uniform access, public access prevented
// and expiring objects; a service account of the workers that may only read it, and that account's HMAC key, with
// which the workers' S3 client reads GCS through its S3-compatible (XML) API.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { serviceAccountId } from './serviceAccountId.js';

/** GCS's S3-compatible (XML) API: the workers' S3 client talks to it with an HMAC key, path-style. */
export const GCS_S3_ENDPOINT = 'https://storage.googleapis.com';

export interface CodeBucketArgs {
  readonly project: string;
  readonly region: string;
  /** Days before an object is deleted. */
  readonly expirationDays: number;
  /** What must exist first: the enabled APIs. */
  readonly dependsOn: pulumi.Resource[];
  readonly labels: Record<string, string>;
}

export interface CodeBucket {
  readonly bucket: gcp.storage.Bucket;
  /** The workers' HMAC key (accessId, secret) for the S3-compatible API. */
  readonly hmacKey: gcp.storage.HmacKey;
}

/** Creates `<name>-code`, the `<name>-worker` account, its read grant and HMAC key as children of `parent`. */
export function createCodeBucket(name: string, args: CodeBucketArgs, parent: pulumi.Resource): CodeBucket {
  const child = { parent };
  const afterApis = { parent, dependsOn: args.dependsOn };
  const bucket = new gcp.storage.Bucket(
    `${name}-code`,
    {
      project: args.project,
      location: args.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      forceDestroy: true,
      lifecycleRules: [{ action: { type: 'Delete' }, condition: { age: args.expirationDays } }],
      labels: args.labels,
    },
    afterApis,
  );
  const account = new gcp.serviceaccount.Account(
    `${name}-worker`,
    { project: args.project, accountId: serviceAccountId(name, 'worker'), displayName: 'code-execution workers (reads the code bucket)' },
    afterApis,
  );
  new gcp.storage.BucketIAMMember(
    `${name}-worker-reads-code`,
    { bucket: bucket.name, role: 'roles/storage.objectViewer', member: pulumi.interpolate`serviceAccount:${account.email}` },
    child,
  );
  const hmacKey = new gcp.storage.HmacKey(`${name}-worker`, { project: args.project, serviceAccountEmail: account.email }, child);
  return { bucket, hmacKey };
}
