// The components' own argument checks, for callers that build them without index.ts and its stack config rules:
// a runner sidecar too small for the largest job is refused with the component and the field named.
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsEnvironment } from '../../components/aws/index.js';
import { KubernetesWorkload } from '../../components/kubernetesWorkload.js';

beforeAll(async () => {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs }, 'code-execution', 'args', false);
});

describe('component arguments', () => {
  const workload = { workerImage: 'w', runnerImage: 'r', s3Bucket: 'b', s3Region: 'auto', secrets: { REDIS_URL: 'redis://r' } };

  it('KubernetesWorkload refuses a runner sidecar smaller than the largest job plus overheads and its /workspace', () => {
    expect(() => new KubernetesWorkload('small', { ...workload, runnerMode: 'sidecar', runnerMemoryMb: 1536, workspaceSizeMb: 512 })).toThrow(
      /^KubernetesWorkload small: runnerMemoryMb \(1536\) is below what the runner sidecar needs: .* = 1824 MB$/,
    );
    // kubernetes mode has no sidecar; runner Jobs are sized from their jobs.
    expect(() => new KubernetesWorkload('jobs', { ...workload, runnerMode: 'kubernetes', runnerMemoryMb: 256 })).not.toThrow();
  });

  it('AwsEnvironment refuses a runner sidecar smaller than the largest job plus overheads', () => {
    expect(() => new AwsEnvironment('small', { region: 'us-east-1', runnerMemoryMb: 1024 })).toThrow(
      /^AwsEnvironment small: runnerMemoryMb \(1024\) is below what the runner sidecar needs: .* = 1376 MB$/,
    );
  });
});
