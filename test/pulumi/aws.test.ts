// `pulumi up -s aws` under mocks, with Pulumi.aws.yaml's config: the Fargate task as the seed lays it out, private
// networking, encryption, secrets through `secrets`, least-privilege roles, autoscaling on CodeExecution/QueueDepth.
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../components/ecsContainers.js';
import { runnerSidecarMemory } from '../../components/runnerSizing.js';
import { DEFAULTS } from '../../components/stackConfig.js';
import { expectedExports, isSecret, readStackConfig, reveal, ROOT, runStack, TEST_CA_PEM, walk, type Inputs, type Registered, type StackRun } from './harness.js';

let run: StackRun;
const file = readStackConfig('aws');
beforeAll(async () => {
  run = await runStack('aws');
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const containers = (): any[] => JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition', '-worker').inputs.containerDefinitions);
const container = (name: string) => containers().find((c) => c.name === name);
const idOf = (r: Registered) => `${r.name}-id`;

describe('Pulumi.aws.yaml under mocks', () => {
  it('exports what the stack file says', () => {
    expect(pulumi.getStack()).toBe('aws');
    const { outputs, ...plain } = run.program;
    expect(plain).toMatchObject(expectedExports('aws', DEFAULTS));
    expect(outputs).toBeDefined();
  });

  describe('the Fargate task definition', () => {
    it('is Fargate, awsvpc, sized to hold both containers, with the task volumes', () => {
      const td = run.one('aws:ecs/taskDefinition:TaskDefinition', '-worker');
      expect(td.inputs).toMatchObject({ requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: '2048', memory: '4096' });
      expect(td.inputs.volumes.map((v: { name: string }) => v.name).sort()).toEqual(['runner-tmp', 'runner-workspace', 'shared', 'worker-tmp']);
      expect(containers().map((c) => c.name)).toEqual(['worker', 'runner', 'volume-permissions']);
    });

    it('the runner sidecar: not essential, uid 0 keeping only SETUID/SETGID/DAC_OVERRIDE/FOWNER, read-only root, container sandbox', () => {
      const runner = container('runner');
      expect(runner).toMatchObject({
        essential: false,
        // ECS appends `command` to the image's ENTRYPOINT (the executor alone): the whole command is the entryPoint.
        entryPoint: ['/opt/runner/sandbox-executor', '--serve', '/shared'],
        readonlyRootFilesystem: true,
        privileged: false,
        user: '0:0',
        linuxParameters: { initProcessEnabled: true },
      });
      expect(runner.environment).toBeUndefined();
      // Fargate adds no capability: every Docker default but the four is dropped.
      const kept = DOCKER_DEFAULT_CAPABILITIES.filter((c) => !runner.linuxParameters.capabilities.drop.includes(c));
      expect(kept.sort()).toEqual(['DAC_OVERRIDE', 'FOWNER', 'SETGID', 'SETUID']);
      expect(runner.linuxParameters.capabilities.add).toBeUndefined();
      expect(runner.command).toBeUndefined();
      expect(runner.image).toMatch(/code-execution-runner@sha256:/);
    });

    it('the runner holds the largest job plus overheads, one job at a time: MAX_CONCURRENT_JOBS is 1', () => {
      expect(container('runner').memory).toBe(Number(file['code-execution:runnerMemoryMb']));
      expect(container('runner').memory).toBeGreaterThanOrEqual(runnerSidecarMemory({ memoryBackedWorkspaceMb: 0 }).minimumMb);
      const env = Object.fromEntries(container('worker').environment.map((e: { name: string; value: string }) => [e.name, e.value]));
      expect(env.MAX_CONCURRENT_JOBS).toBe('1');
    });

    it('worker and runner share /shared; the runner has its own /workspace; no /scratch', () => {
      const mount = (c: { mountPoints: { sourceVolume: string; containerPath: string }[] }, volume: string) => c.mountPoints.find((m) => m.sourceVolume === volume);
      expect(mount(container('worker'), 'shared')?.containerPath).toBe('/shared');
      expect(mount(container('runner'), 'shared')?.containerPath).toBe('/shared');
      expect(mount(container('runner'), 'runner-workspace')?.containerPath).toBe('/workspace');
      expect(mount(container('worker'), 'runner-workspace')).toBeUndefined();
      expect(run.one('aws:ecs/taskDefinition:TaskDefinition', '-worker').inputs.containerDefinitions).not.toContain('scratch');
    });

    it('no container is privileged; all have a read-only root; the worker is non-root with every capability dropped', () => {
      for (const c of containers()) {
        for (const o of walk(c)) expect(o.privileged, c.name).not.toBe(true);
        expect(c.readonlyRootFilesystem, c.name).toBe(true);
        expect(c.linuxParameters.capabilities.add, c.name).toBeUndefined();
      }
      expect(container('worker')).toMatchObject({ user: '1000:1000', linuxParameters: { capabilities: { drop: ['ALL'] } } });
      // The init container only chowns the job directory, with CHOWN as its only capability, and exits.
      const init = container('volume-permissions');
      expect(init).toMatchObject({ user: '0:0', essential: false });
      expect(DOCKER_DEFAULT_CAPABILITIES.filter((c) => !init.linuxParameters.capabilities.drop.includes(c))).toEqual(['CHOWN']);
    });

    it('secrets come through `secrets` (Secrets Manager ARNs), never through `environment`', () => {
      const worker = container('worker');
      const secretArns = Object.fromEntries(run.all('aws:secretsmanager/secret:Secret').map((s) => [s.name, `arn:aws:secretsmanager:us-east-1:123456789012:secret:${s.name}-AbCdEf`]));
      expect(worker.secrets).toEqual([
        { name: 'DATABASE_URL', valueFrom: secretArns['code-execution-database-url'] },
        { name: 'REDIS_URL', valueFrom: secretArns['code-execution-redis-url'] },
      ]);
      for (const c of containers()) {
        const names = (c.environment ?? []).map((e: { name: string }) => e.name);
        expect(names, c.name).not.toContain('REDIS_URL');
        expect(names, c.name).not.toContain('DATABASE_URL');
        expect(JSON.stringify(c.environment ?? [])).not.toMatch(/generated-|rediss:|postgres:/);
      }
    });

    it("the worker's environment is wired: sidecar mode, bucket, region, metrics, concurrency, the database's CA", () => {
      const env = Object.fromEntries(container('worker').environment.map((e: { name: string; value: string }) => [e.name, e.value]));
      expect(env).toEqual({
        STREAM_KEY: 'code-execution-jobs',
        CONSUMER_GROUP: 'execution-workers',
        RUNNER_MODE: 'sidecar',
        SIDECAR_DIR: '/shared',
        MAX_CONCURRENT_JOBS: file['code-execution:maxConcurrentJobs'],
        METRICS_PORT: '9464',
        CLOUDWATCH_METRICS: 'true',
        S3_BUCKET: run.outputs.bucket,
        S3_REGION: 'us-east-1',
        DATABASE_CA_CERT: TEST_CA_PEM.trim() + '\n',
      });
      expect(container('worker').logConfiguration.options['awslogs-group']).toBe(run.outputs.logGroup);
    });

    it('the secret values: rediss:// with the auth token to ElastiCache, postgres:// with the generated password to RDS', () => {
      const versions = Object.fromEntries(run.all('aws:secretsmanager/secretVersion:SecretVersion').map((v) => [v.name, v.inputs.secretString]));
      for (const v of Object.values(versions)) expect(isSecret(v)).toBe(true);
      expect(reveal(versions['code-execution-redis-url'])).toBe(
        `rediss://:generated-code-execution-redis-token@${run.outputs.redisEndpoint}:6379`,
      );
      expect(reveal(versions['code-execution-database-url'])).toBe(
        `postgres://code_execution:generated-code-execution-db-password@${run.outputs.databaseEndpoint}:5432/code_execution?sslmode=verify-full`,
      );
    });

    it('the worker verifies RDS against the CA bundle of rdsCaBundleFile (DATABASE_CA_CERT, a plain variable: it is public)', () => {
      const env = Object.fromEntries(container('worker').environment.map((e: { name: string; value: string }) => [e.name, e.value]));
      expect(env.DATABASE_CA_CERT.trim()).toBe(TEST_CA_PEM.trim());
      expect(env.DATABASE_SERVER_NAME).toBeUndefined();
      expect(run.one('aws:rds/instance:Instance').inputs.caCertIdentifier).toBe('rds-ca-rsa2048-g1');
    });
  });

  describe('network', () => {
    it('the service runs in the private subnets without public IPs', () => {
      const service = run.one('aws:ecs/service:Service', '-workers');
      const subnets = run.all('aws:ec2/subnet:Subnet');
      expect(subnets).toHaveLength(2);
      for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
      expect(service.inputs).toMatchObject({
        launchType: 'FARGATE',
        desiredCount: Number(file['code-execution:minWorkers']),
        networkConfiguration: { assignPublicIp: false, subnets: subnets.map(idOf), securityGroups: ['code-execution-worker-id'] },
      });
    });

    it('no route to the internet: no internet gateway, no NAT, no public address', () => {
      const types = new Set(run.resources.map((r) => r.type));
      for (const t of ['aws:ec2/internetGateway:InternetGateway', 'aws:ec2/natGateway:NatGateway', 'aws:ec2/eip:Eip', 'aws:ec2/route:Route']) expect(types.has(t), t).toBe(false);
      const endpoints = run.all('aws:ec2/vpcEndpoint:VpcEndpoint');
      expect(endpoints.map((e) => e.inputs.serviceName).sort()).toEqual(
        ['ecr.api', 'ecr.dkr', 'logs', 'monitoring', 's3', 'secretsmanager'].map((s) => `com.amazonaws.us-east-1.${s}`),
      );
      for (const e of endpoints.filter((x) => x.inputs.vpcEndpointType === 'Interface')) expect(e.inputs.privateDnsEnabled).toBe(true);
    });

    it('security groups: workers reach only Redis, PostgreSQL and the AWS endpoints; nothing reaches workers', () => {
      for (const g of run.all('aws:ec2/securityGroup:SecurityGroup')) {
        expect(g.inputs.ingress ?? [], g.name).toEqual([]);
        expect(g.inputs.egress ?? [], g.name).toEqual([]);
      }
      const allEgress = run.all('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule');
      // Only the workers, the API tasks and the API's load balancer send anything (apiSecurityGroupRules for the last two).
      expect([...new Set(allEgress.map((r) => r.inputs.securityGroupId))].sort()).toEqual(['code-execution-alb-id', 'code-execution-api-id', 'code-execution-worker-id']);
      const egress = allEgress.filter((r) => r.inputs.securityGroupId === 'code-execution-worker-id');
      expect(egress.map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId ?? r.inputs.prefixListId]).sort()).toEqual([
        [443, 443, 'code-execution-endpoints-id'],
        [443, 443, 'pl-63a5400a'],
        [5432, 5432, 'code-execution-database-id'],
        [6379, 6379, 'code-execution-redis-id'],
      ]);
      const allIngress = run.all('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule');
      for (const r of [...allEgress, ...allIngress]) {
        // Only the load balancer admits an address range (the VPC's, the API being internal by default).
        if (r.inputs.securityGroupId !== 'code-execution-alb-id') expect(r.inputs.cidrIpv4, r.name).toBeUndefined();
        expect(r.inputs.ipProtocol, r.name).toBe('tcp');
      }
      const ingress = allIngress.filter((r) => r.inputs.referencedSecurityGroupId === 'code-execution-worker-id');
      expect(ingress.map((r) => r.inputs.securityGroupId).sort()).toEqual(['code-execution-database-id', 'code-execution-endpoints-id', 'code-execution-redis-id']);
      expect(allIngress.map((r) => r.inputs.securityGroupId)).not.toContain('code-execution-worker-id');
    });
  });

  describe('data stores', () => {
    it('ElastiCache: in-transit and at-rest encryption, auth token, private subnets, failover by config', () => {
      const redis = run.one('aws:elasticache/replicationGroup:ReplicationGroup');
      const multiAz = file['code-execution:multiAz'] === 'true';
      expect(redis.inputs).toMatchObject({
        transitEncryptionEnabled: true,
        atRestEncryptionEnabled: true,
        nodeType: file['code-execution:redisNodeType'],
        securityGroupIds: ['code-execution-redis-id'],
        automaticFailoverEnabled: multiAz,
        numCacheClusters: multiAz ? 2 : 1,
      });
      expect(isSecret(redis.inputs.authToken)).toBe(true);
      expect(reveal(redis.inputs.authToken)).toBe('generated-code-execution-redis-token');
    });

    it('RDS PostgreSQL: encrypted, private, Multi-AZ from config, generated password', () => {
      const db = run.one('aws:rds/instance:Instance');
      expect(db.inputs).toMatchObject({
        engine: 'postgres',
        storageEncrypted: true,
        publiclyAccessible: false,
        multiAz: file['code-execution:multiAz'] === 'true',
        instanceClass: file['code-execution:dbInstanceClass'],
        allocatedStorage: Number(file['code-execution:dbStorageGb']),
        vpcSecurityGroupIds: ['code-execution-database-id'],
      });
      expect(reveal(db.inputs.password)).toBe('generated-code-execution-db-password');
      expect(run.one('random:index/randomPassword:RandomPassword', '-db-password').inputs).toMatchObject({ length: 40 });
    });

    it('S3: every public access blocked, encrypted, lifecycle rules, TLS only', () => {
      expect(run.one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(run.one('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe('AES256');
      const rules = run.one('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs.rules;
      expect(rules.find((r: { id: string }) => r.id === 'expire-code')).toMatchObject({ status: 'Enabled', expiration: { days: Number(file['code-execution:bucketExpirationDays']) } });
      expect(rules.find((r: { id: string }) => r.id === 'abort-incomplete-uploads').abortIncompleteMultipartUpload.daysAfterInitiation).toBe(1);
      expect(JSON.parse(run.one('aws:s3/bucketPolicy:BucketPolicy').inputs.policy).Statement[0]).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    });
  });

  describe('IAM and logs', () => {
    it('the task role: s3:GetObject and s3:ListBucket on the code bucket and cloudwatch:PutMetricData in CodeExecution, nothing else', () => {
      const policy = JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', '-task').inputs.policy);
      const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action).sort();
      expect(actions).toEqual(['cloudwatch:PutMetricData', 's3:GetObject', 's3:ListBucket']);
      expect(policy.Statement[0].Resource).toBe(`arn:aws:s3:::code-execution-code-7f3a9c1/*`);
      expect(policy.Statement[1].Resource).toBe(`arn:aws:s3:::code-execution-code-7f3a9c1`);
      expect(policy.Statement[2].Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'CodeExecution' } });
      const td = run.one('aws:ecs/taskDefinition:TaskDefinition', '-worker');
      expect(td.inputs.taskRoleArn).toContain('code-execution-task');
      expect(td.inputs.executionRoleArn).toContain('code-execution-execution');
    });

    it('the execution role reads only the two injected secrets', () => {
      const policy = JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', 'code-execution-execution-secrets').inputs.policy);
      expect(policy.Statement).toHaveLength(1);
      expect(policy.Statement[0].Action).toEqual(['secretsmanager:GetSecretValue']);
      expect(policy.Statement[0].Resource).toHaveLength(2);
      for (const arn of policy.Statement[0].Resource) expect(arn).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:code-execution-(redis|database)-url-/);
      for (const role of run.all('aws:iam/role:Role')) {
        expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: 'ecs-tasks.amazonaws.com' });
      }
    });

    it('a log group with retention', () => {
      expect(run.one('aws:cloudwatch/logGroup:LogGroup', '-workers').inputs.retentionInDays).toBe(Number(file['code-execution:logRetentionDays']));
    });
  });

  describe('autoscaling', () => {
    it('2-50 tasks by target tracking on CodeExecution/QueueDepth per running task, target 10, cooldowns 60 s in / 30 s out', () => {
      expect(run.one('aws:appautoscaling/target:Target', '-workers').inputs).toMatchObject({
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: 'service/code-execution/code-execution-workers',
        minCapacity: 2,
        maxCapacity: 50,
      });
      expect(run.one('aws:appautoscaling/policy:Policy', '-queue-depth').inputs).toMatchObject({
        policyType: 'TargetTrackingScaling',
        targetTrackingScalingPolicyConfiguration: {
          targetValue: 10,
          scaleInCooldown: 60,
          scaleOutCooldown: 30,
          customizedMetricSpecification: {
            metrics: [
              { id: 'backlog', metricStat: { metric: { namespace: 'CodeExecution', metricName: 'QueueDepth' }, stat: 'Average' }, returnData: false },
              {
                id: 'workers',
                metricStat: {
                  metric: {
                    namespace: 'ECS/ContainerInsights',
                    metricName: 'RunningTaskCount',
                    dimensions: [
                      { name: 'ClusterName', value: 'code-execution' },
                      { name: 'ServiceName', value: 'code-execution-workers' },
                    ],
                  },
                  stat: 'Average',
                },
                returnData: false,
              },
              { id: 'backlogPerWorker', expression: 'backlog / workers', returnData: true },
            ],
          },
        },
      });
      // Container Insights, which publishes RunningTaskCount, is on for the cluster.
      expect(run.one('aws:ecs/cluster:Cluster').inputs.settings).toEqual([{ name: 'containerInsights', value: 'enabled' }]);
    });
  });

  describe('the HTTP API', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const apiContainers = (): any[] => JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition', '-api').inputs.containerDefinitions);
    const secretArn = (key: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:code-execution-${key}-AbCdEf`;

    it('its own Fargate service of `code-exec api` on 2358 from the worker image, in the private subnets, logging to its log group', () => {
      const td = run.one('aws:ecs/taskDefinition:TaskDefinition', '-api');
      expect(td.inputs).toMatchObject({ family: 'code-execution-api', requiresCompatibilities: ['FARGATE'], networkMode: 'awsvpc', cpu: '256', memory: '512' });
      expect(td.inputs.taskRoleArn).toBeUndefined();
      const [api, init] = apiContainers();
      expect(api).toMatchObject({
        name: 'api',
        image: run.outputs.workerImage,
        command: ['api'],
        essential: true,
        user: '1000:1000',
        readonlyRootFilesystem: true,
        privileged: false,
        linuxParameters: { capabilities: { drop: ['ALL'] } },
        portMappings: [{ containerPort: 2358, protocol: 'tcp' }],
      });
      expect(api.logConfiguration.options['awslogs-group']).toBe('code-execution-api-5e1d2b0');
      expect(run.one('aws:cloudwatch/logGroup:LogGroup', '-api').inputs.retentionInDays).toBe(Number(file['code-execution:logRetentionDays']));
      expect(init).toMatchObject({ name: 'volume-permissions', command: ['set -e; chmod 1777 /volumes/api-tmp'] });
      const env = Object.fromEntries(api.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
      expect(env).toEqual({ API_PORT: '2358', API_HOST: '0.0.0.0', STREAM_KEY: 'code-execution-jobs', CONSUMER_GROUP: 'execution-workers' });
      const service = run.one('aws:ecs/service:Service', '-api');
      expect(service.inputs).toMatchObject({
        cluster: 'arn:aws:mock:us-east-1:123456789012:code-execution',
        launchType: 'FARGATE',
        desiredCount: DEFAULTS.apiMinReplicas,
        networkConfiguration: { assignPublicIp: false, subnets: ['code-execution-private-0-id', 'code-execution-private-1-id'], securityGroups: ['code-execution-api-id'] },
        loadBalancers: [{ containerName: 'api', containerPort: 2358, targetGroupArn: expect.stringContaining('code-execution-api') }],
      });
    });

    it('API_TOKENS, CALLBACK_SIGNING_KEY and REDIS_URL from Secrets Manager; the execution role reads exactly those three', () => {
      const [api] = apiContainers();
      expect(api.secrets).toEqual([
        { name: 'API_TOKENS', valueFrom: secretArn('api-tokens') },
        { name: 'CALLBACK_SIGNING_KEY', valueFrom: secretArn('callback-signing-key') },
        { name: 'REDIS_URL', valueFrom: secretArn('redis-url') },
      ]);
      expect(JSON.stringify(api.environment)).not.toMatch(/generated-|rediss:/);
      const versions = Object.fromEntries(run.all('aws:secretsmanager/secretVersion:SecretVersion').map((v) => [v.name, v.inputs.secretString]));
      expect(isSecret(versions['code-execution-api-tokens'])).toBe(true);
      expect(reveal(versions['code-execution-api-tokens'])).toBe('generated-code-execution-api-token');
      expect(reveal(versions['code-execution-callback-signing-key'])).toBe('generated-code-execution-callback-signing-key');
      expect(run.one('random:index/randomPassword:RandomPassword', '-callback-signing-key').inputs.length).toBeGreaterThanOrEqual(16);
      const policy = JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', '-api-execution-secrets').inputs.policy);
      expect(policy.Statement).toEqual([
        { Sid: 'InjectSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [secretArn('api-tokens'), secretArn('callback-signing-key'), secretArn('redis-url')] },
      ]);
      expect(run.one('aws:ecs/taskDefinition:TaskDefinition', '-api').inputs.executionRoleArn).toContain('code-execution-api-execution');
    });

    it('an internal ALB by default: HTTP on 80 from the VPC only, health check on /readyz', () => {
      const lb = run.one('aws:lb/loadBalancer:LoadBalancer');
      expect(lb.inputs).toMatchObject({ loadBalancerType: 'application', internal: true, securityGroups: ['code-execution-alb-id'], subnets: ['code-execution-private-0-id', 'code-execution-private-1-id'] });
      const listeners = run.all('aws:lb/listener:Listener');
      expect(listeners.map((l) => [l.inputs.port, l.inputs.protocol, l.inputs.defaultActions[0].type])).toEqual([[80, 'HTTP', 'forward']]);
      expect(run.one('aws:lb/targetGroup:TargetGroup').inputs).toMatchObject({
        targetType: 'ip',
        port: 2358,
        protocol: 'HTTP',
        healthCheck: { path: '/readyz', matcher: '200' },
      });
      expect(run.all('aws:ec2/internetGateway:InternetGateway')).toEqual([]);
      expect(run.outputs.apiUrl).toBe('http://internal-code-execution-api-1234567890.us-east-1.elb.amazonaws.com');
      expect(run.outputs.apiTokensSecretArn).toBe(secretArn('api-tokens'));
    });

    it('security groups: the ALB admits the VPC and reaches only the API tasks; the tasks admit only the ALB and reach only Redis and the endpoints', () => {
      const rules: Inputs[] = [
        ...run.all('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').map((r) => ({ dir: 'in', ...r.inputs })),
        ...run.all('aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule').map((r) => ({ dir: 'out', ...r.inputs })),
      ];
      const of = (group: string) =>
        rules.filter((r) => r.securityGroupId === `code-execution-${group}-id`).map((r) => [r.dir, r.fromPort, r.referencedSecurityGroupId ?? r.prefixListId ?? r.cidrIpv4]);
      expect(of('alb').sort()).toEqual([
        ['in', 80, '10.40.0.0/16'],
        ['out', 2358, 'code-execution-api-id'],
      ]);
      expect(of('api').sort()).toEqual([
        ['in', 2358, 'code-execution-alb-id'],
        ['out', 443, 'code-execution-endpoints-id'],
        ['out', 443, 'pl-63a5400a'],
        ['out', 6379, 'code-execution-redis-id'],
      ]);
      expect(of('redis').sort()).toEqual([
        ['in', 6379, 'code-execution-api-id'],
        ['in', 6379, 'code-execution-worker-id'],
      ]);
      for (const r of rules) expect([r.fromPort, r.ipProtocol]).toEqual([r.toPort, 'tcp']);
    });

    it('autoscaling on CPU: a target between the API bounds and a target-tracking policy on ECSServiceAverageCPUUtilization', () => {
      expect(run.one('aws:appautoscaling/target:Target', '-api').inputs).toMatchObject({
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: 'service/code-execution/code-execution-api',
        minCapacity: DEFAULTS.apiMinReplicas,
        maxCapacity: DEFAULTS.apiMaxReplicas,
      });
      expect(run.one('aws:appautoscaling/policy:Policy', '-api-cpu').inputs).toMatchObject({
        policyType: 'TargetTrackingScaling',
        resourceId: 'service/code-execution/code-execution-api',
        targetTrackingScalingPolicyConfiguration: { targetValue: DEFAULTS.apiCpuTargetPercent, predefinedMetricSpecification: { predefinedMetricType: 'ECSServiceAverageCPUUtilization' } },
      });
    });

    it('single-node Redis by default: no cluster mode, no REDIS_CLUSTER anywhere', () => {
      expect(run.one('aws:elasticache/replicationGroup:ReplicationGroup').inputs.clusterMode).toBeUndefined();
      for (const c of [...containers(), ...apiContainers()]) expect((c.environment ?? []).map((e: { name: string }) => e.name), c.name).not.toContain('REDIS_CLUSTER');
    });
  });

  it('images are built from the repository and pushed to ECR', () => {
    const images = run.all('docker:index/image:Image');
    expect(images.map((i) => i.inputs.build.dockerfile.replace(ROOT, '')).sort()).toEqual(['runner/Dockerfile', 'worker/Dockerfile']);
    for (const i of images) {
      expect(i.inputs.skipPush).toBe(false);
      expect(i.inputs.imageName).toMatch(/^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/code-execution-(worker|runner):latest$/);
      expect(reveal(i.inputs.registry)).toMatchObject({ server: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com', username: 'AWS' });
    }
    for (const r of run.all('aws:ecr/repository:Repository')) expect(r.inputs.imageScanningConfiguration).toEqual({ scanOnPush: true });
  });
});
