// Each concern of components/aws/ alone: built under mocks as the child of a bare parent, with inputs of the test's
// own, and its pure pieces without mocks. The stack as a whole is test/pulumi/aws.test.ts.
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { securityGroupRules } from '../../components/awsPolicies.js';
import { createCodeBucket, codeBucketLifecycleRules } from '../../components/aws/codeBucket.js';
import { createDatabase, rdsDatabaseUrl } from '../../components/aws/database.js';
import { createNetwork, interfaceEndpointName, privateSubnetCidrs, securityGroupRuleName } from '../../components/aws/network.js';
import { createRedis, elasticacheRedisUrl, replicationTopology } from '../../components/aws/redis.js';
import { createRegistry, ecrLifecyclePolicy } from '../../components/aws/registry.js';
import { createSecret } from '../../components/aws/secrets.js';
import { createWorkers, queueDepthTracking, workerTaskSize } from '../../components/aws/workers.js';
import { capture, MOCK_ACCOUNT, TestParent } from './componentMocks.js';
import { isSecret, reveal } from './harness.js';

const tags = { 'code-execution:stack': 'test' };

describe('aws network', () => {
  it('names and ranges, without mocks', () => {
    expect(privateSubnetCidrs('10.7.0.0/16')).toEqual(['10.7.0.0/20', '10.7.16.0/20']);
    expect(interfaceEndpointName('env', 'ecr.api')).toBe('env-ecr-api');
    expect(securityGroupRules().map((r) => securityGroupRuleName('env', r))).toEqual([
      'env-worker-egress-6379-redis',
      'env-worker-egress-5432-database',
      'env-worker-egress-443-endpoints',
      'env-worker-egress-443-s3',
      'env-redis-ingress-6379-worker',
      'env-database-ingress-5432-worker',
      'env-endpoints-ingress-443-worker',
    ]);
  });

  it('a VPC of two private subnets in two zones, endpoints for the AWS services, empty groups and their rules', async () => {
    const run = await capture(() => createNetwork('net', { region: 'eu-west-1', vpcCidr: '10.7.0.0/16', tags }, new TestParent('net')));
    expect(run.one('aws:ec2/vpc:Vpc', 'net-vpc').inputs).toMatchObject({ cidrBlock: '10.7.0.0/16', enableDnsHostnames: true });
    expect(run.all('aws:ec2/subnet:Subnet').map((s) => [s.name, s.inputs.cidrBlock, s.inputs.availabilityZone, s.inputs.mapPublicIpOnLaunch])).toEqual([
      ['net-private-0', '10.7.0.0/20', 'us-east-1a', false],
      ['net-private-1', '10.7.16.0/20', 'us-east-1b', false],
    ]);
    expect(run.all('aws:ec2/routeTableAssociation:RouteTableAssociation')).toHaveLength(2);
    expect(run.all('aws:ec2/securityGroup:SecurityGroup').map((g) => g.name)).toEqual(['net-worker', 'net-redis', 'net-database', 'net-endpoints']);
    const endpoints = run.all('aws:ec2/vpcEndpoint:VpcEndpoint');
    expect(endpoints.find((e) => e.name === 'net-s3')?.inputs).toMatchObject({ vpcEndpointType: 'Gateway', routeTableIds: ['net-private-id'] });
    for (const e of endpoints.filter((x) => x.inputs.vpcEndpointType === 'Interface')) {
      expect(e.inputs).toMatchObject({ privateDnsEnabled: true, subnetIds: ['net-private-0-id', 'net-private-1-id'], securityGroupIds: ['net-endpoints-id'] });
      expect(e.inputs.serviceName).toMatch(/^com\.amazonaws\.eu-west-1\./);
    }
    const rules = [...run.all('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule'), ...run.all('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')];
    expect(rules).toHaveLength(securityGroupRules().length);
    expect(run.one('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule', 'net-worker-egress-443-s3').inputs.prefixListId).toBe('pl-63a5400a');
    for (const t of ['aws:ec2/internetGateway:InternetGateway', 'aws:ec2/natGateway:NatGateway']) expect(run.all(t)).toEqual([]);
  });
});

describe('aws redis', () => {
  it('one node, or a failover pair', () => {
    expect(replicationTopology(false)).toEqual({ numCacheClusters: 1, automaticFailoverEnabled: false, multiAzEnabled: false });
    expect(replicationTopology(true)).toEqual({ numCacheClusters: 2, automaticFailoverEnabled: true, multiAzEnabled: true });
    expect(elasticacheRedisUrl('tok', 'h.example')).toBe('rediss://:tok@h.example:6379');
  });

  it('ElastiCache with TLS and the generated token, in the given subnets and group; REDIS_URL as a secret', async () => {
    const run = await capture(() =>
      createRedis('r', { nodeType: 'cache.m7g.large', multiAz: true, subnetIds: ['s-1', 's-2'], securityGroupId: 'sg-r', tags }, new TestParent('r')),
    );
    const group = run.one('aws:elasticache/replicationGroup:ReplicationGroup', 'r-redis');
    expect(group.inputs).toMatchObject({
      nodeType: 'cache.m7g.large',
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      securityGroupIds: ['sg-r'],
      subnetGroupName: 'r-redis',
    });
    expect(reveal(group.inputs.authToken)).toBe('generated-r-redis-token');
    expect(run.one('aws:elasticache/subnetGroup:SubnetGroup').inputs.subnetIds).toEqual(['s-1', 's-2']);
    const version = run.one('aws:secretsmanager/secretVersion:SecretVersion', 'r-redis-url');
    expect(isSecret(version.inputs.secretString)).toBe(true);
    expect(reveal(version.inputs.secretString)).toBe('rediss://:generated-r-redis-token@master.r-redis.abc123.use1.cache.amazonaws.com:6379');
  });
});

describe('aws database', () => {
  it('RDS PostgreSQL, encrypted and private, and DATABASE_URL as a secret', async () => {
    expect(rdsDatabaseUrl('pw', 'db.example')).toBe('postgres://code_execution:pw@db.example:5432/code_execution?sslmode=require');
    const run = await capture(() =>
      createDatabase('d', { instanceClass: 'db.m7g.large', storageGb: 50, multiAz: false, subnetIds: ['s-1'], securityGroupId: 'sg-d', tags }, new TestParent('d')),
    );
    expect(run.one('aws:rds/instance:Instance').inputs).toMatchObject({
      instanceClass: 'db.m7g.large',
      allocatedStorage: 50,
      maxAllocatedStorage: 250,
      multiAz: false,
      storageEncrypted: true,
      publiclyAccessible: false,
      vpcSecurityGroupIds: ['sg-d'],
      dbSubnetGroupName: 'd-db',
    });
    expect(reveal(run.one('aws:secretsmanager/secretVersion:SecretVersion', 'd-database-url').inputs.secretString)).toBe(
      'postgres://code_execution:generated-d-db-password@d-db.abc123.us-east-1.rds.amazonaws.com:5432/code_execution?sslmode=require',
    );
  });
});

describe('aws secrets', () => {
  it('a secret and its version, the value marked secret, a 7-day recovery window', async () => {
    const run = await capture(() => createSecret('s', 'k', { description: 'd', value: 'v', tags }, new TestParent('s')));
    expect(run.one('aws:secretsmanager/secret:Secret', 's-k').inputs).toMatchObject({ description: 'd', recoveryWindowInDays: 7 });
    const version = run.one('aws:secretsmanager/secretVersion:SecretVersion', 's-k');
    expect(version.inputs.secretId).toBe('s-k-id');
    expect(isSecret(version.inputs.secretString)).toBe(true);
  });
});

describe('aws code bucket', () => {
  it('private, owner-enforced, encrypted, expiring after the given days, TLS only', async () => {
    expect(codeBucketLifecycleRules(3)[0]).toMatchObject({ id: 'expire-code', expiration: { days: 3 } });
    const run = await capture(() => createCodeBucket('c', { expirationDays: 3, tags }, new TestParent('c')));
    expect(run.one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs).toMatchObject({ bucket: 'c-code-id', blockPublicPolicy: true, restrictPublicBuckets: true });
    expect(run.one('aws:s3/bucketOwnershipControls:BucketOwnershipControls').inputs.rule).toEqual({ objectOwnership: 'BucketOwnerEnforced' });
    expect(run.one('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs.rules).toEqual(codeBucketLifecycleRules(3));
    const policy = JSON.parse(run.one('aws:s3/bucketPolicy:BucketPolicy').inputs.policy);
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Deny', Resource: ['arn:aws:s3:::c-code-7f3a9c1', 'arn:aws:s3:::c-code-7f3a9c1/*'] });
  });
});

describe('aws registry', () => {
  it('two scanned repositories keeping 10 images, and the images pushed to them with the ECR token', async () => {
    expect(JSON.parse(ecrLifecyclePolicy(3)).rules[0].selection).toEqual({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 3 });
    const run = await capture(() => createRegistry('g', { tags }, new TestParent('g')));
    expect(run.all('aws:ecr/repository:Repository').map((r) => [r.name, r.inputs.imageScanningConfiguration])).toEqual([
      ['g-worker', { scanOnPush: true }],
      ['g-runner', { scanOnPush: true }],
    ]);
    for (const p of run.all('aws:ecr/lifecyclePolicy:LifecyclePolicy')) expect(p.inputs.policy).toBe(ecrLifecyclePolicy(10));
    const images = run.all('docker:index/image:Image');
    expect(images.map((i) => i.inputs.imageName).sort()).toEqual([
      `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/g-runner:latest`,
      `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/g-worker:latest`,
    ]);
    for (const i of images) expect(reveal(i.inputs.registry)).toEqual({ server: `https://${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, username: 'AWS', password: 'ecr-login-token' });
  });
});

describe('aws workers', () => {
  it('task size and scaling, without mocks', () => {
    expect(workerTaskSize({ workerCpuMillis: 500, workerMemoryMb: 512, runnerCpuMillis: 1000, runnerMemoryMb: 2048 })).toEqual({ cpu: 2048, memory: 4096 });
    expect(queueDepthTracking(7)).toMatchObject({ targetValue: 7, scaleInCooldown: 60, scaleOutCooldown: 30, customizedMetricSpecification: { metricName: 'QueueDepth' } });
  });

  it('the Fargate service of the task in the given subnets and group, its roles on the given secrets and bucket, autoscaling', async () => {
    const arn = (n: string) => pulumi.output(`arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:${n}`);
    const run = await capture(() =>
      createWorkers(
        'w',
        {
          region: 'us-east-1',
          minWorkers: 3,
          maxWorkers: 9,
          queueDepthTarget: 4,
          maxConcurrentJobs: 1,
          workerCpuMillis: 500,
          workerMemoryMb: 1024,
          runnerCpuMillis: 1500,
          runnerMemoryMb: 3072,
          ephemeralStorageGb: 30,
          logRetentionDays: 14,
          images: { workerImage: pulumi.output('repo/worker@sha256:1'), runnerImage: pulumi.output('repo/runner@sha256:2') },
          subnetIds: ['s-1', 's-2'],
          securityGroupId: 'sg-w',
          bucket: { arn: pulumi.output('arn:aws:s3:::code'), bucket: pulumi.output('code') },
          redisUrlSecret: { arn: arn('redis') },
          databaseUrlSecret: { arn: arn('db') },
          tags,
        },
        new TestParent('w'),
      ),
    );
    const td = run.one('aws:ecs/taskDefinition:TaskDefinition');
    expect(td.inputs).toMatchObject({ family: 'w-worker', cpu: '2048', memory: '4096', ephemeralStorage: { sizeInGib: 30 } });
    const containers = JSON.parse(td.inputs.containerDefinitions);
    expect(containers.map((c: { name: string; image: string }) => [c.name, c.image])).toEqual([
      ['worker', 'repo/worker@sha256:1'],
      ['runner', 'repo/runner@sha256:2'],
      ['volume-permissions', 'repo/worker@sha256:1'],
    ]);
    expect(containers[0].secrets.map((s: { valueFrom: string }) => s.valueFrom).sort()).toEqual([
      `arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:db`,
      `arn:aws:secretsmanager:us-east-1:${MOCK_ACCOUNT}:secret:redis`,
    ]);
    expect(run.one('aws:ecs/service:Service').inputs).toMatchObject({ desiredCount: 3, networkConfiguration: { subnets: ['s-1', 's-2'], securityGroups: ['sg-w'], assignPublicIp: false } });
    expect(run.one('aws:appautoscaling/target:Target').inputs).toMatchObject({ minCapacity: 3, maxCapacity: 9, resourceId: 'service/w/w-workers' });
    expect(run.one('aws:appautoscaling/policy:Policy').inputs.targetTrackingScalingPolicyConfiguration.targetValue).toBe(4);
    expect(run.one('aws:cloudwatch/logGroup:LogGroup').inputs.retentionInDays).toBe(14);
    expect(JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', 'w-task').inputs.policy).Statement[0].Resource).toBe('arn:aws:s3:::code/*');
    expect(JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', 'w-execution-secrets').inputs.policy).Statement[0].Resource).toHaveLength(2);
  });
});
