// `pulumi up -s gcp` with redisCluster true, under mocks: Memorystore for Redis Cluster behind Private Service Connect
// (its subnet and service connection policy), REDIS_CLUSTER=true in the worker and API pods, and their
// NetworkPolicies reaching Redis only through the PSC subnet on the discovery and node ports.
import { beforeAll, describe, expect, it } from 'vitest';
import { REDIS_CLUSTER_PSC_SUBNET } from '../../components/gcp/redis.js';
import { reveal, runStack, type StackRun } from './harness.js';

let run: StackRun;
beforeAll(async () => {
  run = await runStack('gcp', { 'code-execution:redisCluster': 'true', 'code-execution:redisShards': '5', 'code-execution:redisReplicasPerShard': '2' });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const envOf = (deployment: string): Record<string, any> =>
  Object.fromEntries(run.one('kubernetes:apps/v1:Deployment', deployment).inputs.spec.template.spec.containers[0].env.map((e: { name: string }) => [e.name, e]));
const redisRule = { to: [{ ipBlock: { cidr: REDIS_CLUSTER_PSC_SUBNET } }], ports: [{ port: 6379, protocol: 'TCP' }, { port: 11000, endPort: 13047, protocol: 'TCP' }] };

describe('Pulumi.gcp.yaml with redisCluster true, under mocks', () => {
  it('Memorystore for Redis Cluster with the shards and replicas of the config, on PSC through a service connection policy', () => {
    expect(run.all('gcp:redis/instance:Instance')).toEqual([]);
    expect(run.one('gcp:redis/cluster:Cluster').inputs).toMatchObject({
      region: 'us-central1',
      shardCount: 5,
      replicaCount: 2,
      pscConfigs: [{ network: 'code-execution-vpc-id' }],
      zoneDistributionConfig: { mode: 'MULTI_ZONE' },
    });
    expect(run.one('gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy').inputs).toMatchObject({
      location: 'us-central1',
      serviceClass: 'gcp-memorystore-redis',
      network: 'code-execution-vpc-id',
      pscConfig: { subnetworks: ['code-execution-redis-psc-id'] },
    });
    expect(run.one('gcp:compute/subnetwork:Subnetwork', '-redis-psc').inputs.ipCidrRange).toBe(REDIS_CLUSTER_PSC_SUBNET);
    expect(run.one('gcp:projects/service:Service', '-networkconnectivity').inputs.service).toBe('networkconnectivity.googleapis.com');
  });

  it('REDIS_URL is the discovery endpoint, and REDIS_CLUSTER=true in the worker and the API pods', () => {
    expect(reveal(run.one('kubernetes:core/v1:Secret', '-workload-credentials').inputs.stringData).REDIS_URL).toBe('redis://10.50.16.2:6379');
    expect(reveal(run.one('kubernetes:core/v1:Secret', '-api-credentials').inputs.stringData).REDIS_URL).toBe('redis://10.50.16.2:6379');
    expect(envOf('-workers').REDIS_CLUSTER).toEqual({ name: 'REDIS_CLUSTER', value: 'true' });
    expect(envOf('-api').REDIS_CLUSTER).toEqual({ name: 'REDIS_CLUSTER', value: 'true' });
    expect(run.outputs.redisHost).toBe('10.50.16.2');
  });

  it('the worker and API pods reach Redis only through the PSC subnet, on the discovery and node ports', () => {
    const policies = run.all('kubernetes:networking.k8s.io/v1:NetworkPolicy');
    expect(policies.find((p) => p.name.endsWith('worker-egress'))!.inputs.spec.egress[1]).toEqual(redisRule);
    expect(policies.find((p) => p.name.endsWith('-api'))!.inputs.spec.egress).toEqual([redisRule]);
  });
});
