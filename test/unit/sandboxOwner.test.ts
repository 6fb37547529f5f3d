// The deployment identity on every sandbox (issue 10, finding 7): one per queue (Redis, stream, group), the
// same whatever credentials reach that Redis, and the names reapers read it back from.
import { describe, expect, it } from 'vitest';
import { deploymentId, ownerInName, sandboxName } from '../../core/sandboxOwner.js';

const queue = { redisUrl: 'redis://10.0.0.5:6379/0', streamKey: 'code-execution-jobs', consumerGroup: 'execution-workers' };

describe('deploymentId', () => {
  it('is 12 hex digits, a label value and a file name', () => {
    expect(deploymentId(queue)).toMatch(/^[0-9a-f]{12}$/);
  });

  it('is the same for the same queue whatever the credentials, and never contains them', () => {
    const withPassword = deploymentId({ ...queue, redisUrl: 'redis://worker:s3cret@10.0.0.5:6379/0' });
    expect(withPassword).toBe(deploymentId(queue));
    expect(deploymentId({ ...queue, redisUrl: 'redis://:other@10.0.0.5:6379/0' })).toBe(deploymentId(queue));
  });

  it('differs for another Redis, database, stream or group', () => {
    const others = [
      { ...queue, redisUrl: 'redis://10.0.0.6:6379/0' },
      { ...queue, redisUrl: 'redis://10.0.0.5:6380/0' },
      { ...queue, redisUrl: 'redis://10.0.0.5:6379/1' },
      { ...queue, streamKey: 'other-jobs' },
      { ...queue, consumerGroup: 'other-workers' },
    ].map(deploymentId);
    expect(new Set([deploymentId(queue), ...others]).size).toBe(others.length + 1);
  });
});

describe('sandbox names', () => {
  const owner = { deployment: 'a1b2c3d4e5f6', ownerId: 'worker-1.example-9f8e' };

  it('carry the deployment and the owner, which only that deployment reads back', () => {
    const name = sandboxName(owner, 'job-1-0a0b');
    expect(name).toBe('a1b2c3d4e5f6~worker-1.example-9f8e@job-1-0a0b');
    expect(ownerInName(name, owner.deployment)).toBe(owner.ownerId);
    expect(ownerInName(name, '000000000000')).toBeNull();
  });

  it('of no deployment (older names, other files) have no owner', () => {
    for (const name of ['worker-1@job-1', 'a1b2c3d4e5f6~@job', 'a1b2c3d4e5f6~worker', '.sidecar-heartbeat', 'a1b2c3d4e5f6']) {
      expect(ownerInName(name, owner.deployment)).toBeNull();
    }
  });
});
