// The components' own argument checks, for callers that build them without index.ts and its stack config rules:
// a runner sidecar too small for the largest job is refused with the component and the field named.
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { AwsEnvironment } from '../../components/aws/index.js';
import { GcpEnvironment } from '../../components/gcp/index.js';
import { KubernetesWorkload } from '../../components/kubernetesWorkload.js';
import { TEST_CA_PEM } from './harness.js';

beforeAll(async () => {
  await pulumi.runtime.setMocks({ newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs }, 'code-execution', 'args', false);
});

describe('component arguments', () => {
  const workload = { workerImage: 'w', runnerImage: 'r', s3Bucket: 'b', s3Region: 'auto', secrets: { REDIS_URL: 'redis://r' }, queueMetric: { name: 'backlog', selector: {} } };

  it('KubernetesWorkload refuses a runner sidecar smaller than the largest job plus overheads and its /workspace', () => {
    expect(() => new KubernetesWorkload('small', { ...workload, runnerMode: 'sidecar', runnerMemoryMb: 1536, workspaceSizeMb: 512 })).toThrow(
      /^KubernetesWorkload small: runnerMemoryMb \(1536\) is below what the runner sidecar needs: .* = 1824 MB$/,
    );
    // kubernetes mode has no sidecar; runner Jobs are sized from their jobs.
    expect(() => new KubernetesWorkload('jobs', { ...workload, runnerMode: 'kubernetes', runnerMemoryMb: 256 })).not.toThrow();
  });

  it('AwsEnvironment refuses a runner sidecar smaller than the largest job plus overheads', () => {
    expect(() => new AwsEnvironment('small', { region: 'us-east-1', databaseCaBundle: TEST_CA_PEM, runnerMemoryMb: 1024 })).toThrow(
      /^AwsEnvironment small: runnerMemoryMb \(1024\) is below what the runner sidecar needs: .* = 1376 MB$/,
    );
  });

  it('AwsEnvironment refuses a VPC range it cannot cut two /20s from, naming the component', () => {
    expect(() => new AwsEnvironment('net', { region: 'us-east-1', databaseCaBundle: TEST_CA_PEM, vpcCidr: '10.40.0.0/24' })).toThrow(/^AwsEnvironment net: vpcCidr must be a \/16/);
  });

  it('GcpEnvironment refuses bad bounds and a runner sidecar too small for its memory-backed /workspace, naming the field', () => {
    const where = { project: 'proj-123456', region: 'us-central1' };
    expect(() => new GcpEnvironment('bounds', { ...where, minWorkers: 3, maxWorkers: 2 })).toThrow(/^GcpEnvironment bounds: minWorkers \(3\) must be >= 1 and <= maxWorkers \(2\)$/);
    expect(() => new GcpEnvironment('small', { ...where, runnerMemoryMb: 1536, workspaceSizeMb: 512 })).toThrow(
      /^GcpEnvironment small: runnerMemoryMb \(1536\) is below what the runner sidecar needs: .* = 1824 MB$/,
    );
    // @ts-expect-error: a caller without the types
    expect(() => new GcpEnvironment('mode', { ...where, runnerMode: 'docker' })).toThrow(/^GcpEnvironment mode: runnerMode must be sidecar or kubernetes, got "docker"$/);
  });
});
