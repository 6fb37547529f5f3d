// The construction logic of the Pulumi components that is not a resource call, tested as plain functions (no
// Pulumi engine, no mocks): env wiring, ECS container definitions and task sizes, IAM documents and security-group
// rules, the Kubernetes specs, the GKE kubeconfig, the local worker's group for the Docker socket.
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ecsTasksAssumeRolePolicy,
  executionRoleSecretsPolicy,
  securityGroupRules,
  taskRolePolicy,
  bucketTlsOnlyPolicy,
  INTERFACE_ENDPOINT_SERVICES,
} from '../../components/awsPolicies.js';
import { privateSubnetCidrs } from '../../components/aws/network.js';
import {
  cpuUnits,
  DOCKER_DEFAULT_CAPABILITIES,
  dropAllBut,
  ECS_VOLUMES,
  ecsContainerDefinitions,
  fargateTaskSize,
  VOLUME_INIT,
  volumeInitScript,
  type EcsContainersInput,
} from '../../components/ecsContainers.js';
import { gkeKubeconfig } from '../../components/gkeKubeconfig.js';
import {
  autoscalerSpec,
  containerSecurityContext,
  runnerJobRoleRules,
  runnerNetworkPolicySpec,
  runnerSidecarSecurityContext,
  runnerSidecarStartupProbe,
  workerNetworkPolicySpec,
  workerPodSpec,
  type WorkerPodInput,
} from '../../components/kubernetesSpecs.js';
import { dockerSocketGroup } from '../../components/local.js';
import { defaultMaxConcurrentJobs, runnerSidecarMemory } from '../../components/runnerSizing.js';
import { normalizeJob } from '../../core/protocol/job.js';
import { DEFAULT_CAPS, SANDBOX_OVERHEAD_MB } from '../../core/protocol/limits.js';
import { runnerJobSpec } from '../../worker/transports/kubernetesTransport.js';
import {
  assertNoSecretsInPlainEnv,
  dockerEnvList,
  nameValueList,
  RUNNER_SIDECAR_CAPABILITIES,
  SIDECAR_COMMAND,
  workerEnvironment,
  WorkerEnvError,
} from '../../components/workerEnv.js';

// Specs are typed with Pulumi's Input<T> wrappers; the tests read them as the plain JSON they are.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const plain = (value: unknown): any => JSON.parse(JSON.stringify(value));

describe('workerEnvironment', () => {
  const base = { maxConcurrentJobs: 4, s3Bucket: 'code', s3Region: 'us-east-1' };

  it('sidecar mode: the shared directory, no image, no socket', () => {
    const env = workerEnvironment({ ...base, runnerMode: 'sidecar', cloudwatchMetrics: true });
    expect(env).toEqual({
      STREAM_KEY: 'code-execution-jobs',
      CONSUMER_GROUP: 'execution-workers',
      RUNNER_MODE: 'sidecar',
      MAX_CONCURRENT_JOBS: '4',
      METRICS_PORT: '9464',
      S3_BUCKET: 'code',
      S3_REGION: 'us-east-1',
      CLOUDWATCH_METRICS: 'true',
      SIDECAR_DIR: '/shared',
    });
  });

  it('docker mode: the runner image and the socket; S3_ENDPOINT only when given', () => {
    const env = workerEnvironment({ ...base, runnerMode: 'docker', runnerImage: 'code-runner:latest', s3Endpoint: 'http://minio:9000' });
    expect(env).toMatchObject({ RUNNER_MODE: 'docker', RUNNER_IMAGE: 'code-runner:latest', DOCKER_SOCKET: '/var/run/docker.sock', S3_ENDPOINT: 'http://minio:9000' });
    expect(env).not.toHaveProperty('CLOUDWATCH_METRICS');
    expect(workerEnvironment({ ...base, runnerMode: 'sidecar' })).not.toHaveProperty('S3_ENDPOINT');
  });

  it('kubernetes mode: the runner image and the namespace, both required', () => {
    expect(workerEnvironment({ ...base, runnerMode: 'kubernetes', runnerImage: 'r@sha256:1', k8sNamespace: 'code-execution' })).toMatchObject({
      RUNNER_MODE: 'kubernetes',
      RUNNER_IMAGE: 'r@sha256:1',
      K8S_NAMESPACE: 'code-execution',
    });
    expect(() => workerEnvironment({ ...base, runnerMode: 'kubernetes', runnerImage: 'r' })).toThrow(/k8sNamespace is required/);
    expect(() => workerEnvironment({ ...base, runnerMode: 'docker' })).toThrow(WorkerEnvError);
  });

  it('never carries a secret, and refuses one passed as plain environment', () => {
    for (const runnerMode of ['docker', 'sidecar', 'kubernetes', 'process'] as const) {
      const env = workerEnvironment({ ...base, runnerMode, runnerImage: 'r', k8sNamespace: 'n' });
      expect(() => assertNoSecretsInPlainEnv(env, 'test')).not.toThrow();
    }
    expect(() => assertNoSecretsInPlainEnv({ REDIS_URL: 'rediss://:t@h:6379' }, 'ecs')).toThrow('ecs: REDIS_URL must be passed as secrets');
    expect(() => assertNoSecretsInPlainEnv({ DATABASE_URL: 'x', AWS_SECRET_ACCESS_KEY: 'y' }, 'pod')).toThrow(/DATABASE_URL, AWS_SECRET_ACCESS_KEY/);
  });

  it('lists are sorted, so a rebuild does not reorder (and redeploy) anything', () => {
    expect(nameValueList({ B: '2', A: '1' })).toEqual([{ name: 'A', value: '1' }, { name: 'B', value: '2' }]);
    expect(dockerEnvList({ B: '2', A: 'x=y' })).toEqual(['A=x=y', 'B=2']);
  });

  it('the runner sidecar: the image\'s executor serving the shared directory, with four capabilities', () => {
    expect(SIDECAR_COMMAND).toEqual(['/opt/runner/sandbox-executor', '--serve', '/shared']);
    expect(RUNNER_SIDECAR_CAPABILITIES).toEqual(['SETUID', 'SETGID', 'DAC_OVERRIDE', 'FOWNER']);
  });
});

describe('runner sidecar sizing', () => {
  it('memory: the largest job (MAX_MEMORY_LIMIT_MB) + the sandbox overhead + the sidecar process', () => {
    expect(DEFAULT_CAPS.maxMemoryLimitMb).toBe(1024);
    expect(SANDBOX_OVERHEAD_MB).toBe(224);
    expect(runnerSidecarMemory({ memoryBackedWorkspaceMb: 0 }).minimumMb).toBe(1024 + 224 + 128);
    expect(runnerSidecarMemory({ memoryBackedWorkspaceMb: 0, maxJobMemoryMb: 2048 }).minimumMb).toBe(2048 + 224 + 128);
    // SANDBOX_OVERHEAD_MB already counts a full 64 MB /workspace; a bigger memory-backed one adds the difference.
    expect(runnerSidecarMemory({ memoryBackedWorkspaceMb: 64 }).minimumMb).toBe(1376);
    const k8s = runnerSidecarMemory({ memoryBackedWorkspaceMb: 512 });
    expect(k8s.minimumMb).toBe(1376 + 448);
    expect(k8s.explanation).toBe(
      'the largest job memory limit (1024 MB, MAX_MEMORY_LIMIT_MB) + 224 MB sandbox overhead + 448 MB of memory-backed /workspace beyond 64 MB + 128 MB for the sidecar\'s executor and the output it holds = 1824 MB',
    );
  });

  it('MAX_CONCURRENT_JOBS defaults to 1 in sidecar mode, where the runner takes one job at a time', () => {
    expect(defaultMaxConcurrentJobs('sidecar')).toBe(1);
    expect(defaultMaxConcurrentJobs('kubernetes')).toBe(2);
    expect(defaultMaxConcurrentJobs('docker')).toBe(2);
  });
});

describe('ECS containers', () => {
  const input: EcsContainersInput = {
    workerImage: 'acct.dkr.ecr/worker@sha256:1',
    runnerImage: 'acct.dkr.ecr/runner@sha256:2',
    workerEnv: workerEnvironment({ runnerMode: 'sidecar', maxConcurrentJobs: 1, s3Bucket: 'b', s3Region: 'eu-west-1', cloudwatchMetrics: true }),
    workerSecrets: { REDIS_URL: 'arn:redis', DATABASE_URL: 'arn:db' },
    logGroup: 'lg',
    region: 'eu-west-1',
    workerCpuUnits: 512,
    workerMemoryMb: 1024,
    runnerCpuUnits: 1536,
    runnerMemoryMb: 3072,
  };
  const [worker, runner, init] = plain(ecsContainerDefinitions(input));

  it('the runner is a non-essential sidecar: uid 0, only SETUID/SETGID/DAC_OVERRIDE/FOWNER left, read-only root, not privileged', () => {
    expect(runner).toMatchObject({
      name: 'runner',
      image: input.runnerImage,
      essential: false,
      // ECS: entryPoint replaces the image's ENTRYPOINT (a `command` would be appended to it).
      entryPoint: ['/opt/runner/sandbox-executor', '--serve', '/shared'],
      user: '0:0',
      readonlyRootFilesystem: true,
      privileged: false,
      memory: 3072,
      linuxParameters: { initProcessEnabled: true },
    });
    // Nothing of the worker's settings (or secrets) in the sandbox's environment.
    expect(runner.environment).toBeUndefined();
    // Fargate cannot add capabilities: the runner keeps the four by dropping every other default one.
    const dropped: string[] = runner.linuxParameters.capabilities.drop;
    expect([...dropped, ...RUNNER_SIDECAR_CAPABILITIES].sort()).toEqual([...DOCKER_DEFAULT_CAPABILITIES].sort());
    for (const cap of RUNNER_SIDECAR_CAPABILITIES) expect(dropped).not.toContain(cap);
    expect(dropped).toEqual(expect.arrayContaining(['CHOWN', 'NET_RAW', 'KILL', 'SETPCAP', 'SETFCAP', 'MKNOD']));
    expect(runner.linuxParameters.capabilities.add).toBeUndefined();
    expect(runner.secrets).toBeUndefined();
  });

  it('worker and runner share /shared; the runner has its own /workspace; each has a /tmp; no /scratch', () => {
    expect(worker.mountPoints).toEqual([
      { sourceVolume: ECS_VOLUMES.shared, containerPath: '/shared', readOnly: false },
      { sourceVolume: ECS_VOLUMES.workerTmp, containerPath: '/tmp', readOnly: false },
    ]);
    expect(runner.mountPoints).toEqual([
      { sourceVolume: ECS_VOLUMES.shared, containerPath: '/shared', readOnly: false },
      { sourceVolume: ECS_VOLUMES.runnerWorkspace, containerPath: '/workspace', readOnly: false },
      { sourceVolume: ECS_VOLUMES.runnerTmp, containerPath: '/tmp', readOnly: false },
    ]);
    expect(JSON.stringify([worker, runner, init])).not.toContain('scratch');
  });

  it('the worker: essential, hardened, secrets by ARN, health check on /healthz, 30 s to drain', () => {
    expect(worker).toMatchObject({
      name: 'worker',
      essential: true,
      user: '1000:1000',
      readonlyRootFilesystem: true,
      privileged: false,
      linuxParameters: { capabilities: { drop: ['ALL'] } },
      secrets: [{ name: 'DATABASE_URL', valueFrom: 'arn:db' }, { name: 'REDIS_URL', valueFrom: 'arn:redis' }],
      stopTimeout: 30,
      dependsOn: [
        { containerName: VOLUME_INIT, condition: 'SUCCESS' },
        { containerName: 'runner', condition: 'START' },
      ],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': 'lg', 'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'worker' } },
    });
    expect(worker.healthCheck.command.join(' ')).toContain('http://127.0.0.1:9464/healthz');
    const envNames = worker.environment.map((e: { name: string }) => e.name);
    expect(envNames).toContain('CLOUDWATCH_METRICS');
    expect(envNames).not.toContain('REDIS_URL');
    expect(envNames).not.toContain('DATABASE_URL');
  });

  it('an init container hands /shared to uid 1000 and makes the /tmp volumes sticky, keeping CHOWN alone', () => {
    expect(init).toMatchObject({ name: VOLUME_INIT, essential: false, user: '0:0', readonlyRootFilesystem: true, privileged: false, command: [volumeInitScript()] });
    const dropped: string[] = init.linuxParameters.capabilities.drop;
    expect(dropped).toEqual(dropAllBut(['CHOWN']));
    expect([...dropped, 'CHOWN'].sort()).toEqual([...DOCKER_DEFAULT_CAPABILITIES].sort());
    expect(init.linuxParameters.capabilities.add).toBeUndefined();
    // The runner's workspace needs no init: the sidecar (root) makes it 1777 itself.
    expect(init.mountPoints.map((m: { sourceVolume: string }) => m.sourceVolume).sort()).toEqual(
      [ECS_VOLUMES.runnerTmp, ECS_VOLUMES.shared, ECS_VOLUMES.workerTmp].sort(),
    );
    expect(volumeInitScript()).toBe('set -e; chmod 1777 /volumes/worker-tmp /volumes/runner-tmp; chmod 0770 /volumes/shared; chown 1000:1000 /volumes/shared');
    expect(runner.dependsOn).toEqual([{ containerName: VOLUME_INIT, condition: 'SUCCESS' }]);
  });

  it('dropAllBut derives every drop list from Docker\'s default capabilities', () => {
    expect(DOCKER_DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(dropAllBut([])).toEqual([...DOCKER_DEFAULT_CAPABILITIES]);
    expect(dropAllBut(['SETUID', 'SETGID'])).toHaveLength(12);
  });

  it('no container is privileged; only the runner sidecar and the init container run as root', () => {
    for (const c of [worker, runner, init]) expect(c.privileged, c.name).toBe(false);
    expect(worker.user).toBe('1000:1000');
    expect(worker.linuxParameters.capabilities).toEqual({ drop: ['ALL'] });
  });

  it('refuses a secret among the plain variables', () => {
    expect(() => ecsContainerDefinitions({ ...input, workerEnv: { ...input.workerEnv, REDIS_URL: 'rediss://:t@h:6379' } })).toThrow(/REDIS_URL must be passed as secrets/);
  });

  it('fargateTaskSize picks the smallest valid size that holds both containers', () => {
    expect(fargateTaskSize(cpuUnits(500) + cpuUnits(1500), 1024 + 3072)).toEqual({ cpu: 2048, memory: 4096 });
    expect(fargateTaskSize(256, 512)).toEqual({ cpu: 256, memory: 512 });
    expect(fargateTaskSize(300, 512)).toEqual({ cpu: 512, memory: 1024 });
    expect(fargateTaskSize(1024, 9000)).toEqual({ cpu: 2048, memory: 9216 });
    expect(fargateTaskSize(4096, 30000)).toEqual({ cpu: 4096, memory: 30720 });
    expect(() => fargateTaskSize(16384, 200_000)).toThrow(/no Fargate task size/);
    expect(cpuUnits(1000)).toBe(1024);
  });

  it('privateSubnetCidrs cuts two /20s from a /16 and refuses anything else', () => {
    expect(privateSubnetCidrs('10.40.0.0/16')).toEqual(['10.40.0.0/20', '10.40.16.0/20']);
    expect(() => privateSubnetCidrs('10.40.0.0/24')).toThrow(/vpcCidr must be a \/16/);
  });
});

describe('AWS policies and security groups', () => {
  it('the task role reads (and lists: a missing key is then a 404) the code bucket and publishes metrics in its namespace, nothing else', () => {
    const doc = taskRolePolicy('arn:aws:s3:::code');
    expect(doc.Statement).toEqual([
      { Sid: 'ReadCode', Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::code/*' },
      { Sid: 'TellMissingCode', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: 'arn:aws:s3:::code' },
      {
        Sid: 'PublishQueueMetrics',
        Effect: 'Allow',
        Action: ['cloudwatch:PutMetricData'],
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'CodeExecution' } },
      },
    ]);
  });

  it('the execution role reads exactly the injected secrets; only ECS tasks assume the roles', () => {
    expect(executionRoleSecretsPolicy(['arn:b', 'arn:a']).Statement).toEqual([
      { Sid: 'InjectSecrets', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: ['arn:a', 'arn:b'] },
    ]);
    expect(ecsTasksAssumeRolePolicy().Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    expect(bucketTlsOnlyPolicy('arn:aws:s3:::code').Statement[0]).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });

  it('workers reach only Redis, PostgreSQL and AWS endpoints; nothing reaches workers', () => {
    const rules = securityGroupRules();
    const worker = rules.filter((r) => r.group === 'worker');
    expect(worker.every((r) => r.direction === 'egress')).toBe(true);
    expect(worker.map((r) => [r.port, r.peer])).toEqual([
      [6379, { group: 'redis' }],
      [5432, { group: 'database' }],
      [443, { group: 'endpoints' }],
      [443, { prefixList: 's3' }],
    ]);
    // Every ingress rule admits the workers only, on the service's own port.
    const ingress = rules.filter((r) => r.direction === 'ingress');
    expect(ingress.map((r) => [r.group, r.port, r.peer])).toEqual([
      ['redis', 6379, { group: 'worker' }],
      ['database', 5432, { group: 'worker' }],
      ['endpoints', 443, { group: 'worker' }],
    ]);
    expect(rules.filter((r) => r.direction === 'egress' && r.group !== 'worker')).toEqual([]);
    expect(INTERFACE_ENDPOINT_SERVICES).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'monitoring']);
  });
});

describe('Kubernetes specs', () => {
  const input: WorkerPodInput = {
    runnerMode: 'sidecar',
    workerImage: 'w@sha256:1',
    runnerImage: 'r@sha256:2',
    env: workerEnvironment({ runnerMode: 'sidecar', maxConcurrentJobs: 1, s3Bucket: 'b', s3Region: 'auto' }),
    secretName: 'code-execution-credentials',
    secretKeys: ['REDIS_URL', 'DATABASE_URL'],
    workerCpuMillis: 500,
    workerMemoryMb: 1024,
    runnerCpuMillis: 1500,
    runnerMemoryMb: 3072,
    workspaceSizeMb: 256,
  };
  const restricted = {
    runAsNonRoot: true,
    runAsUser: 1000,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };

  it('sidecar mode: restricted worker, root runner with four capabilities, memory-backed size-limited volumes, 30 s grace, no token', () => {
    const spec = plain(workerPodSpec(input));
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.terminationGracePeriodSeconds).toBe(30);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBeUndefined();
    expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(['worker']);
    const [worker] = spec.containers;
    // A native sidecar: the kubelet starts it before the worker and starts the worker once its heartbeat says ready.
    const [runner] = spec.initContainers;
    expect(runner).toMatchObject({ name: 'runner', restartPolicy: 'Always', startupProbe: plain(runnerSidecarStartupProbe()) });
    expect(worker.securityContext).toEqual({ ...restricted, runAsGroup: 1000 });
    expect(runner.securityContext).toEqual({
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID', 'DAC_OVERRIDE', 'FOWNER'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(runner.securityContext).toEqual(plain(runnerSidecarSecurityContext()));
    expect(runner).toMatchObject({
      command: ['/opt/runner/sandbox-executor', '--serve', '/shared'],
      resources: { requests: { cpu: '1500m', memory: '3072Mi' }, limits: { cpu: '1500m', memory: '3072Mi' } },
    });
    expect(runner.volumeMounts).toEqual([
      { name: 'shared', mountPath: '/shared' },
      { name: 'runner-workspace', mountPath: '/workspace' },
      { name: 'runner-tmp', mountPath: '/tmp' },
      { name: 'runner-no-shm', mountPath: '/dev/shm', readOnly: true },
    ]);
    expect(worker.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(['/tmp', '/shared']);
    expect(spec.volumes).toEqual([
      { name: 'worker-tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'shared', emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } },
      { name: 'runner-workspace', emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } },
      { name: 'runner-tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'runner-no-shm', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ]);
    expect(JSON.stringify(spec)).not.toContain('scratch');
    expect(worker.resources).toEqual({ requests: { cpu: '500m', memory: '1024Mi' }, limits: { cpu: '500m', memory: '1024Mi' } });
    expect(worker.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(worker.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(worker.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
  });

  it('credentials come from the Secret by secretKeyRef, never as values', () => {
    const [worker] = plain(workerPodSpec(input)).containers;
    const byName = Object.fromEntries(worker.env.map((e: { name: string }) => [e.name, e]));
    expect(byName.REDIS_URL).toEqual({ name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'code-execution-credentials', key: 'REDIS_URL' } } });
    expect(byName.DATABASE_URL.valueFrom.secretKeyRef.key).toBe('DATABASE_URL');
    expect(byName.RUNNER_MODE).toEqual({ name: 'RUNNER_MODE', value: 'sidecar' });
    expect(byName.SIDECAR_DIR.value).toBe('/shared');
    expect(() => workerPodSpec({ ...input, env: { ...input.env, DATABASE_URL: 'postgres://u:p@h/db' } })).toThrow(/DATABASE_URL must be passed as secrets/);
  });

  it('kubernetes mode: the worker alone, with its ServiceAccount token', () => {
    const spec = plain(
      workerPodSpec({
        ...input,
        runnerMode: 'kubernetes',
        env: workerEnvironment({ runnerMode: 'kubernetes', maxConcurrentJobs: 4, s3Bucket: 'b', s3Region: 'auto', runnerImage: 'r', k8sNamespace: 'code-execution' }),
      }),
    );
    expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(['worker']);
    expect(spec.initContainers).toBeUndefined();
    expect(spec).toMatchObject({ serviceAccountName: 'code-execution-worker', automountServiceAccountToken: true });
    expect(spec.volumes.map((v: { name: string }) => v.name)).toEqual(['worker-tmp']);
  });

  it('network policies: runner pods deny everything; workers reach DNS, Redis, PostgreSQL and HTTPS only', () => {
    expect(plain(runnerNetworkPolicySpec())).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'code-execution', 'app.kubernetes.io/component': 'runner' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    });
    const worker = plain(workerNetworkPolicySpec('10.60.0.0/16'));
    expect(worker.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(worker.ingress).toEqual([{ ports: [{ port: 9464, protocol: 'TCP' }] }]);
    const ports = worker.egress.flatMap((r: { ports: { port: number }[] }) => r.ports.map((p) => p.port));
    expect([...new Set(ports)].sort((x, y) => Number(x) - Number(y))).toEqual([53, 443, 5432, 6378, 6379]);
    const toPrivate = worker.egress.filter((r: { to?: unknown }) => r.to);
    expect(toPrivate.map((r: { ports: { port: number }[] }) => r.ports[0].port)).toEqual([6379, 5432]);
    expect(toPrivate[0].to).toEqual([{ ipBlock: { cidr: '10.60.0.0/16' } }]);
  });

  it("the runner NetworkPolicy selects the pods the kubernetes transport actually creates", () => {
    const job = normalizeJob({ id: 'np-1', language: 'python', code: 'print(1)' });
    const podLabels = runnerJobSpec(job, 'run-np-1', { namespace: 'code-execution', image: 'r', deployment: 'd-1', ownerId: 'w-1' }).spec!.template.metadata!.labels!;
    const selector = plain(runnerNetworkPolicySpec()).podSelector.matchLabels;
    expect(podLabels).toMatchObject(selector);
  });

  it('the runner-Job Role covers jobs, configmaps, pods and pods/log only', () => {
    const rules = plain(runnerJobRoleRules());
    expect(rules.flatMap((r: { resources: string[] }) => r.resources).sort()).toEqual(['configmaps', 'jobs', 'pods', 'pods/log']);
    for (const r of rules) expect(r.verbs).not.toContain('*');
    expect(rules.find((r: { resources: string[] }) => r.resources.includes('pods/log')).verbs).toEqual(['get']);
  });

  it('the autoscaler: autoscaling/v2 on the given external backlog metric, average 10, between the bounds', () => {
    const metric = { name: 'backlog', selector: { reducer: 'REDUCE_MAX' } };
    const spec = plain(autoscalerSpec({ deploymentName: 'workers', minReplicas: 2, maxReplicas: 50, queueDepthTarget: 10, metric }));
    expect(spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'workers' },
      minReplicas: 2,
      maxReplicas: 50,
      metrics: [{ type: 'External', external: { metric: { name: 'backlog', selector: { matchLabels: { reducer: 'REDUCE_MAX' } } }, target: { type: 'AverageValue', averageValue: '10' } } }],
    });
    expect(() => autoscalerSpec({ deploymentName: 'w', minReplicas: 5, maxReplicas: 2, queueDepthTarget: 10, metric })).toThrow(/minReplicas 5 > maxReplicas 2/);
    expect(containerSecurityContext().privileged).toBe(false);
    expect(runnerSidecarSecurityContext().privileged).toBe(false);
  });
});

describe('gkeKubeconfig', () => {
  it('points at the endpoint with the cluster CA and authenticates through gke-gcloud-auth-plugin', () => {
    const config = JSON.parse(gkeKubeconfig({ name: 'c', endpoint: '203.0.113.10', clusterCaCertificate: 'Q0E=' }));
    expect(config.clusters[0].cluster).toEqual({ server: 'https://203.0.113.10', 'certificate-authority-data': 'Q0E=' });
    expect(config['current-context']).toBe('c');
    expect(config.users[0].user.exec.command).toBe('gke-gcloud-auth-plugin');
    expect(JSON.stringify(config)).not.toMatch(/token|password/i);
    expect(() => gkeKubeconfig({ name: 'c', endpoint: '', clusterCaCertificate: 'x' })).toThrow(/endpoint is empty/);
  });
});

describe('dockerSocketGroup: the group the local worker needs for the engine\'s socket', () => {
  it('on Linux, the socket\'s own group on this host; a configured one wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'socket-group-'));
    const file = join(dir, 'docker.sock');
    writeFileSync(file, '');
    chownSync(file, 0, 4321);
    try {
      expect(dockerSocketGroup(file, undefined, 'linux')).toMatchObject({ gid: 4321 });
      expect(dockerSocketGroup(file, 999, 'linux')).toMatchObject({ gid: 999 });
      expect(dockerSocketGroup(join(dir, 'absent.sock'), undefined, 'linux')).toEqual({ why: expect.stringMatching(/not found/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("on Docker Desktop (macOS, Windows) the VM's socket belongs to group 0, whatever the host's file says", () => {
    expect(dockerSocketGroup('/var/run/docker.sock', undefined, 'darwin')).toMatchObject({ gid: 0 });
    expect(dockerSocketGroup('/var/run/docker.sock', undefined, 'win32')).toMatchObject({ gid: 0 });
  });
});
