// `pulumi up -s aws` with redisCluster true (and shards / replicas set), under mocks: ElastiCache with cluster mode
// enabled, REDIS_URL on its configuration endpoint, and REDIS_CLUSTER=true in the worker's and the API's containers.
import { beforeAll, describe, expect, it } from 'vitest';
import { reveal, runStack, type StackRun } from './harness.js';

let run: StackRun;
beforeAll(async () => {
  run = await runStack('aws', { 'code-execution:redisCluster': 'true', 'code-execution:redisShards': '4', 'code-execution:redisReplicasPerShard': '2' });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const container = (taskDefinition: string, name: string): any =>
  JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition', taskDefinition).inputs.containerDefinitions).find((c: { name: string }) => c.name === name);
const env = (c: { environment: { name: string; value: string }[] }) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]));

describe('Pulumi.aws.yaml with redisCluster true, under mocks', () => {
  it('ElastiCache with cluster mode enabled: the shards and replicas of the config, failover, the cluster-on parameter group', () => {
    expect(run.one('aws:elasticache/replicationGroup:ReplicationGroup').inputs).toMatchObject({
      clusterMode: 'enabled',
      numNodeGroups: 4,
      replicasPerNodeGroup: 2,
      parameterGroupName: 'default.redis7.cluster.on',
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
    });
    expect(run.one('aws:elasticache/replicationGroup:ReplicationGroup').inputs.numCacheClusters).toBeUndefined();
  });

  it('REDIS_URL names the configuration endpoint', () => {
    const version = run.one('aws:secretsmanager/secretVersion:SecretVersion', '-redis-url');
    expect(reveal(version.inputs.secretString)).toBe('rediss://:generated-code-execution-redis-token@clustercfg.code-execution-redis.abc123.use1.cache.amazonaws.com:6379');
    expect(run.outputs.redisEndpoint).toBe('clustercfg.code-execution-redis.abc123.use1.cache.amazonaws.com');
  });

  it('REDIS_CLUSTER=true in the worker and in the API', () => {
    expect(env(container('-worker', 'worker')).REDIS_CLUSTER).toBe('true');
    expect(env(container('-api', 'api')).REDIS_CLUSTER).toBe('true');
    // The runner sidecar has no environment at all: nothing of the worker's settings where jobs run.
    expect(container('-worker', 'runner').environment).toBeUndefined();
  });
});
