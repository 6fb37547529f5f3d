// The parts of @20minutes/s3rver (untyped) that objectStore.ts uses.
declare module '@20minutes/s3rver' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  namespace S3rver {
    interface StoredObject {
      key: string;
      lastModifiedDate: Date;
    }
    interface FilesystemStore {
      listBuckets(): Promise<{ name: string }[]>;
      listObjects(bucket: string, options: { startAfter?: string; maxKeys?: number }): Promise<{ objects: StoredObject[]; isTruncated: boolean }>;
      deleteObject(bucket: string, key: string): Promise<void>;
    }
  }
  class S3rver {
    constructor(options: { directory: string; silent?: boolean; vhostBuckets?: boolean; configureBuckets?: { name: string; configs: Buffer[] }[] });
    readonly store: S3rver.FilesystemStore;
    configureBuckets(): Promise<void>;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
  export default S3rver;
}

/** The accounts whose keys sign requests: s3rver's authentication middleware looks keys up in `registry`. */
declare module '@20minutes/s3rver/lib/models/account.js' {
  class AWSAccount {
    static registry: Map<string, AWSAccount>;
    constructor(id: number, displayName: string);
    createKeyPair(accessKeyId: string, secretAccessKey: string): void;
    revokeAccessKey(accessKeyId: string): void;
  }
  export default AWSAccount;
}
