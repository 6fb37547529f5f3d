// Whose a sandbox is: the deployment (the queue it serves: Redis, stream, consumer group) and the worker
// instance in it. Deployments may share a host, a Docker engine or a namespace while each has its own Redis,
// and a reaper can only ask its own Redis whether an owner is alive: so every sandbox carries its deployment,
// and a reaper judges (and removes) only its own deployment's.
import { createHash } from 'node:crypto';

export interface SandboxOwner {
  /** The deployment the sandboxes serve: deploymentId() of the worker's queue. */
  deployment: string;
  /** The worker instance (whose heartbeat is in the deployment's Redis). */
  ownerId: string;
}

export interface QueueIdentity {
  redisUrl: string;
  streamKey: string;
  consumerGroup: string;
}

/**
 * 12 hex digits of the sha256 of the Redis URL without its credentials (a rotated password is the same Redis),
 * the stream and the consumer group. Fits a label value and a file name; says nothing about the Redis it names.
 */
export function deploymentId(queue: QueueIdentity): string {
  const url = new URL(queue.redisUrl);
  url.username = '';
  url.password = '';
  return createHash('sha256').update(JSON.stringify([url.href, queue.streamKey, queue.consumerGroup])).digest('hex').slice(0, 12);
}

/** Per-job sandbox resources (cgroups, tmpfs, sidecar job directories) are named `<deployment>~<owner>@<job>`. */
export const sandboxName = (owner: SandboxOwner, job: string) => `${owner.deployment}~${owner.ownerId}@${job}`;

/**
 * The owner in a sandbox name of `deployment`; null for any other name (another deployment's, or none of
 * ours), which its reaper must leave alone.
 */
export function ownerInName(name: string, deployment: string): string | null {
  const prefix = `${deployment}~`;
  if (!name.startsWith(prefix)) return null;
  const at = name.indexOf('@', prefix.length);
  return at > prefix.length ? name.slice(prefix.length, at) : null;
}
