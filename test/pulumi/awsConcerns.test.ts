// Each concern of components/aws/ alone: built under mocks as the child of a bare parent, with inputs of the test's
// own, and its pure pieces without mocks. The stack as a whole is test/pulumi/aws.test.ts.
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { apiListenerPorts, apiSecurityGroupRules, securityGroupRules } from '../../components/awsPolicies.js';
import { createApi, cpuTracking, validateApiArgs, type ApiArgs } from '../../components/aws/api.js';
import { createCodeBucket, codeBucketLifecycleRules } from '../../components/aws/codeBucket.js';
import { createDatabase, rdsDatabaseUrl } from '../../components/aws/database.js';
import { createNetwork, interfaceEndpointName, privateSubnetCidrs, publicSubnetCidrs, securityGroupRuleName } from '../../components/aws/network.js';
import { clusterTopology, createRedis, elasticacheRedisUrl, replicationTopology } from '../../components/aws/redis.js';
import { createRegistry, ecrLifecyclePolicy } from '../../components/aws/registry.js';
import { createSecret } from '../../components/aws/secrets.js';
import { createWorkers, queueDepthTracking, workerTaskSize } from '../../components/aws/workers.js';
import { capture, MOCK_ACCOUNT, TestParent } from './componentMocks.js';
import { isSecret, reveal, TEST_CA_PEM } from './harness.js';

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
    expect(rdsDatabaseUrl('pw', 'db.example')).toBe('postgres://code_execution:pw@db.example:5432/code_execution?sslmode=verify-full');
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
      // The CA the workers' bundle must hold.
      caCertIdentifier: 'rds-ca-rsa2048-g1',
    });
    expect(reveal(run.one('aws:secretsmanager/secretVersion:SecretVersion', 'd-database-url').inputs.secretString)).toBe(
      'postgres://code_execution:generated-d-db-password@d-db.abc123.us-east-1.rds.amazonaws.com:5432/code_execution?sslmode=verify-full',
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
    const run = await capture(() => createRegistry('g', { tags, runnerLanguages: 'python,c', platform: 'linux/arm64' }, new TestParent('g')));
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
    // The stack's runnerLanguages reaches runner/Dockerfile as its LANGUAGES build argument.
    expect(images.map((i) => [String(i.inputs.imageName).split('/').pop(), i.inputs.build.args.LANGUAGES]).sort()).toEqual([['g-runner:latest', 'python,c'], ['g-worker:latest', undefined]]);
    for (const i of images) expect(reveal(i.inputs.registry)).toEqual({ server: `https://${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, username: 'AWS', password: 'ecr-login-token' });
    for (const i of images) expect(i.inputs.build.platform).toBe('linux/arm64');
  });
});

describe('aws workers', () => {
  it('task size and scaling, without mocks', () => {
    expect(workerTaskSize({ workerCpuMillis: 500, workerMemoryMb: 512, runnerCpuMillis: 1000, runnerMemoryMb: 2048 })).toEqual({ cpu: 2048, memory: 4096 });
    const tracking = queueDepthTracking(7, { clusterName: 'c', serviceName: 's' });
    expect(tracking).toMatchObject({ targetValue: 7, scaleInCooldown: 60, scaleOutCooldown: 30 });
    // The backlog per worker: the queue depth over the service's running tasks, the one series returned.
    const metrics = (tracking.customizedMetricSpecification as { metrics: { id: string; expression?: string; returnData: boolean; metricStat?: unknown }[] }).metrics;
    expect(metrics.map((m) => [m.id, m.returnData])).toEqual([['backlog', false], ['workers', false], ['backlogPerWorker', true]]);
    expect(metrics[2].expression).toBe('backlog / workers');
    expect(metrics[1].metricStat).toEqual({
      metric: { namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount', dimensions: [{ name: 'ClusterName', value: 'c' }, { name: 'ServiceName', value: 's' }] },
      stat: 'Average',
    });
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
          imagePlatform: 'linux/arm64',
          subnetIds: ['s-1', 's-2'],
          securityGroupId: 'sg-w',
          bucket: { arn: pulumi.output('arn:aws:s3:::code'), bucket: pulumi.output('code') },
          redisUrlSecret: { arn: arn('redis') },
          databaseUrlSecret: { arn: arn('db') },
          databaseCaBundle: TEST_CA_PEM,
          tags,
        },
        new TestParent('w'),
      ),
    );
    const td = run.one('aws:ecs/taskDefinition:TaskDefinition');
    expect(td.inputs).toMatchObject({ family: 'w-worker', cpu: '2048', memory: '4096', ephemeralStorage: { sizeInGib: 30 }, runtimePlatform: { cpuArchitecture: 'ARM64' } });
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

describe('aws network with a public API', () => {
  it('two public subnets behind an internet gateway; the tasks stay in the private ones', async () => {
    expect(publicSubnetCidrs('10.7.0.0/16')).toEqual(['10.7.32.0/24', '10.7.33.0/24']);
    const run = await capture(() => createNetwork('net', { region: 'eu-west-1', vpcCidr: '10.7.0.0/16', publicSubnets: true, tags }, new TestParent('net')));
    expect(run.one('aws:ec2/internetGateway:InternetGateway').inputs.vpcId).toBe('net-vpc-id');
    expect(run.one('aws:ec2/routeTable:RouteTable', 'net-public').inputs.routes).toEqual([{ cidrBlock: '0.0.0.0/0', gatewayId: 'net-igw-id' }]);
    expect(run.one('aws:ec2/routeTable:RouteTable', 'net-private').inputs.routes).toBeUndefined();
    expect(run.all('aws:ec2/subnet:Subnet').filter((s) => s.inputs.tags.tier === 'public').map((s) => s.inputs.cidrBlock)).toEqual(['10.7.32.0/24', '10.7.33.0/24']);
  });
});

describe('aws redis cluster mode', () => {
  it('shards and replicas, failover always, Multi-AZ only with a replica to place', async () => {
    expect(clusterTopology({ shards: 3, replicasPerShard: 1 }, true)).toEqual({
      clusterMode: 'enabled',
      parameterGroupName: 'default.redis7.cluster.on',
      numNodeGroups: 3,
      replicasPerNodeGroup: 1,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
    });
    expect(clusterTopology({ shards: 2, replicasPerShard: 0 }, true).multiAzEnabled).toBe(false);
    const run = await capture(() =>
      createRedis('r', { nodeType: 'cache.m7g.large', multiAz: false, cluster: { shards: 6, replicasPerShard: 2 }, subnetIds: ['s-1'], securityGroupId: 'sg-r', tags }, new TestParent('r')),
    );
    expect(run.one('aws:elasticache/replicationGroup:ReplicationGroup').inputs).toMatchObject({ clusterMode: 'enabled', numNodeGroups: 6, replicasPerNodeGroup: 2, transitEncryptionEnabled: true });
    expect(reveal(run.one('aws:secretsmanager/secretVersion:SecretVersion', 'r-redis-url').inputs.secretString)).toMatch(/^rediss:\/\/:generated-r-redis-token@clustercfg\.r-redis\./);
  });
});

describe('aws api', () => {
  const args = (over: Partial<ApiArgs> = {}): ApiArgs => ({
    region: 'us-east-1',
    minReplicas: 3,
    maxReplicas: 8,
    cpuTargetPercent: 55,
    cpuMillis: 500,
    memoryMb: 1024,
    public: false,
    certificateArn: '',
    redisCluster: false,
    logRetentionDays: 7,
    image: 'repo/worker@sha256:1',
    imagePlatform: 'linux/amd64',
    vpc: { id: pulumi.output('vpc-1') },
    vpcCidr: '10.7.0.0/16',
    subnetIds: ['private-1', 'private-2'],
    loadBalancerSubnetIds: ['public-1', 'public-2'],
    securityGroups: { redis: { id: pulumi.output('sg-redis') }, endpoints: { id: pulumi.output('sg-endpoints') } },
    s3PrefixListId: 'pl-s3',
    cluster: { arn: pulumi.output('arn:cluster'), name: pulumi.output('c') },
    redisUrlSecret: { arn: pulumi.output('arn:redis-url') },
    tags,
    ...over,
  });
  const cert = 'arn:aws:acm:us-east-1:123456789012:certificate/abc';

  it('rules, listener ports and scaling, without mocks', () => {
    expect(apiListenerPorts(false)).toEqual([80]);
    expect(apiListenerPorts(true)).toEqual([443, 80]);
    const rules = apiSecurityGroupRules({ public: true, listenerPorts: [443, 80], vpcCidr: '10.7.0.0/16' });
    expect(rules.filter((r) => r.group === 'alb' && r.direction === 'ingress').map((r) => [r.port, r.peer])).toEqual([
      [443, { cidr: '0.0.0.0/0', label: 'internet' }],
      [80, { cidr: '0.0.0.0/0', label: 'internet' }],
    ]);
    expect(rules.filter((r) => r.group === 'api' && r.direction === 'ingress').map((r) => r.peer)).toEqual([{ group: 'alb' }]);
    expect(cpuTracking(55)).toMatchObject({ targetValue: 55, predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' } });
  });

  it('public without a certificate is refused, naming both keys, before any resource', async () => {
    expect(() => validateApiArgs('here', { public: true, certificateArn: '', minReplicas: 1, maxReplicas: 1 })).toThrow(
      'here: apiPublic is true but apiCertificateArn is not set; an internet-facing API needs HTTPS (an ACM certificate ARN)',
    );
    const run = await capture(() => expect(() => createApi('a', args({ public: true }), new TestParent('a'))).toThrow(/apiCertificateArn is not set/));
    expect(run.resources.filter((r) => !r.type.startsWith('code-execution:'))).toEqual([]);
  });

  it('internal: HTTP on 80 from the VPC, the tasks in the private subnets, the given tokens, CPU scaling', async () => {
    const run = await capture(() => createApi('a', args({ tokens: pulumi.secret('token-one,token-two') }), new TestParent('a')));
    expect(run.one('aws:lb/loadBalancer:LoadBalancer').inputs).toMatchObject({ internal: true, subnets: ['public-1', 'public-2'], securityGroups: ['a-alb-id'] });
    expect(run.all('aws:lb/listener:Listener').map((l) => [l.inputs.port, l.inputs.protocol])).toEqual([[80, 'HTTP']]);
    expect(run.one('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', 'a-alb-ingress-80-vpc').inputs).toMatchObject({ cidrIpv4: '10.7.0.0/16', fromPort: 80 });
    expect(run.one('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', 'a-redis-ingress-6379-api').inputs).toMatchObject({ securityGroupId: 'sg-redis', referencedSecurityGroupId: 'a-api-id' });
    expect(run.one('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule', 'a-api-egress-443-s3').inputs.prefixListId).toBe('pl-s3');
    expect(reveal(run.one('aws:secretsmanager/secretVersion:SecretVersion', 'a-api-tokens').inputs.secretString)).toBe('token-one,token-two');
    expect(run.all('random:index/randomPassword:RandomPassword').map((p) => p.name)).toEqual(['a-callback-signing-key']);
    expect(run.one('aws:ecs/service:Service').inputs).toMatchObject({ cluster: 'arn:cluster', desiredCount: 3, networkConfiguration: { subnets: ['private-1', 'private-2'], securityGroups: ['a-api-id'] } });
    expect(run.one('aws:ecs/taskDefinition:TaskDefinition').inputs).toMatchObject({ cpu: '512', memory: '1024' });
    expect(run.one('aws:appautoscaling/target:Target').inputs).toMatchObject({ minCapacity: 3, maxCapacity: 8, resourceId: 'service/c/a-api' });
    expect(run.one('aws:appautoscaling/policy:Policy').inputs.targetTrackingScalingPolicyConfiguration.targetValue).toBe(55);
    expect(run.one('aws:cloudwatch/logGroup:LogGroup').inputs.retentionInDays).toBe(7);
  });

  it('public with a certificate: internet-facing, HTTPS on 443 with the certificate, 80 only redirecting, both from anywhere', async () => {
    let url: pulumi.Output<string> | undefined;
    const run = await capture(() => {
      url = createApi('a', args({ public: true, certificateArn: cert, redisCluster: true }), new TestParent('a')).url;
    });
    expect(run.one('aws:lb/loadBalancer:LoadBalancer').inputs.internal).toBe(false);
    const listeners = Object.fromEntries(run.all('aws:lb/listener:Listener').map((l) => [l.inputs.port, l.inputs]));
    expect(listeners[443]).toMatchObject({ protocol: 'HTTPS', certificateArn: cert, sslPolicy: expect.stringMatching(/^ELBSecurityPolicy-TLS13/), defaultActions: [{ type: 'forward' }] });
    expect(listeners[80]).toMatchObject({ protocol: 'HTTP', defaultActions: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443' } }] });
    for (const port of [443, 80]) expect(run.one('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', `a-alb-ingress-${port}-internet`).inputs.cidrIpv4).toBe('0.0.0.0/0');
    expect(await new Promise((resolve) => url!.apply(resolve))).toBe('https://a-api-1234567890.us-east-1.elb.amazonaws.com');
    const [api] = JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition').inputs.containerDefinitions);
    expect(api.environment).toContainEqual({ name: 'REDIS_CLUSTER', value: 'true' });
    expect(run.one('random:index/randomPassword:RandomPassword', 'a-api-token').inputs.length).toBe(40);
  });
});
