// The aws target's code bucket (where large job code lives, read by the workers): S3, every public access blocked,
// owner-enforced, encrypted, TLS only, objects expiring.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { bucketTlsOnlyPolicy } from '../awsPolicies.js';

export interface CodeBucketArgs {
  /** Days before an object expires. */
  readonly expirationDays: number;
  readonly tags: Record<string, string>;
}

/** The lifecycle rules: code objects expire; abandoned multipart uploads are cleaned up after a day. */
export function codeBucketLifecycleRules(expirationDays: number): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  return [
    { id: 'expire-code', status: 'Enabled', filter: {}, expiration: { days: expirationDays } },
    { id: 'abort-incomplete-uploads', status: 'Enabled', filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
  ];
}

/** Creates `<name>-code` (the bucket and its access block, ownership, encryption, lifecycle, policy) under `parent`. */
export function createCodeBucket(name: string, args: CodeBucketArgs, parent: pulumi.Resource): aws.s3.Bucket {
  const child = { parent };
  const bucket = new aws.s3.Bucket(`${name}-code`, { forceDestroy: true, tags: args.tags }, child);
  new aws.s3.BucketPublicAccessBlock(
    `${name}-code`,
    { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    child,
  );
  new aws.s3.BucketOwnershipControls(`${name}-code`, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } }, child);
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-code`,
    { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }] },
    child,
  );
  new aws.s3.BucketLifecycleConfiguration(`${name}-code`, { bucket: bucket.id, rules: codeBucketLifecycleRules(args.expirationDays) }, child);
  new aws.s3.BucketPolicy(`${name}-code`, { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(bucketTlsOnlyPolicy(arn))) }, child);
  return bucket;
}
