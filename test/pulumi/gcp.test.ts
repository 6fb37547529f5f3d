// `pulumi up -s gcp` under mocks, with Pulumi.gcp.yaml's config (sidecar runner mode): GKE Autopilot, Memorystore,
// Cloud SQL on a private IP, GCS, Artifact Registry, a Kubernetes provider from the cluster, and the workload.
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { runnerSidecarMemory } from '../../components/runnerSizing.js';
import { DEFAULTS } from '../../components/stackConfig.js';
import { expectedExports, isSecret, readStackConfig, reveal, runStack, TEST_CA_PEM, walk, type StackRun } from './harness.js';

let run: StackRun;
const file = readStackConfig('gcp');
beforeAll(async () => {
  run = await runStack('gcp');
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const podSpec = (): any => run.one('kubernetes:apps/v1:Deployment', '-workers').inputs.spec.template.spec;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const envOf = (container: any): Record<string, any> => Object.fromEntries(container.env.map((e: { name: string }) => [e.name, e]));

describe('Pulumi.gcp.yaml under mocks', () => {
  it('exports what the stack file says', () => {
    expect(pulumi.getStack()).toBe('gcp');
    const { outputs, ...plain } = run.program;
    expect(plain).toMatchObject(expectedExports('gcp', DEFAULTS));
    expect(outputs).toBeDefined();
  });

  describe('GCP resources', () => {
    it('GKE Autopilot in the region, private nodes, on our subnet', () => {
      expect(run.one('gcp:container/cluster:Cluster').inputs).toMatchObject({
        enableAutopilot: true,
        location: 'us-central1',
        project: 'code-execution-demo',
        privateClusterConfig: { enablePrivateNodes: true },
        network: 'code-execution-vpc-id',
        subnetwork: 'code-execution-nodes-id',
      });
      expect(run.one('gcp:compute/subnetwork:Subnetwork').inputs.privateIpGoogleAccess).toBe(true);
      expect(run.one('gcp:compute/network:Network').inputs.autoCreateSubnetworks).toBe(false);
    });

    it('Memorystore Redis on private service access, with AUTH', () => {
      const redis = run.one('gcp:redis/instance:Instance');
      expect(redis.inputs).toMatchObject({
        connectMode: 'PRIVATE_SERVICE_ACCESS',
        authorizedNetwork: 'code-execution-vpc-id',
        authEnabled: true,
        memorySizeGb: Number(file['code-execution:redisMemoryGb']),
        tier: file['code-execution:multiAz'] === 'true' ? 'STANDARD_HA' : 'BASIC',
      });
    });

    it('Cloud SQL PostgreSQL on a private IP only (no public IPv4), TLS required, over the service networking peering', () => {
      const sql = run.one('gcp:sql/databaseInstance:DatabaseInstance');
      expect(sql.inputs.databaseVersion).toMatch(/^POSTGRES_/);
      expect(sql.inputs.settings).toMatchObject({
        tier: file['code-execution:dbTier'],
        availabilityType: file['code-execution:multiAz'] === 'true' ? 'REGIONAL' : 'ZONAL',
        ipConfiguration: { ipv4Enabled: false, privateNetwork: 'code-execution-vpc-id', sslMode: 'ENCRYPTED_ONLY' },
      });
      expect(run.one('gcp:servicenetworking/connection:Connection').inputs).toMatchObject({ service: 'servicenetworking.googleapis.com', network: 'code-execution-vpc-id' });
      expect(run.one('gcp:compute/globalAddress:GlobalAddress').inputs).toMatchObject({ purpose: 'VPC_PEERING', addressType: 'INTERNAL' });
      expect(reveal(run.one('gcp:sql/user:User').inputs.password)).toBe('generated-code-execution-db-password');
    });

    it('a GCS bucket: uniform access, public access prevented, lifecycle; the workers may only read it', () => {
      expect(run.one('gcp:storage/bucket:Bucket').inputs).toMatchObject({
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        lifecycleRules: [{ action: { type: 'Delete' }, condition: { age: Number(file['code-execution:bucketExpirationDays']) } }],
      });
      expect(run.one('gcp:storage/bucketIAMMember:BucketIAMMember').inputs).toMatchObject({
        role: 'roles/storage.objectViewer',
        member: 'serviceAccount:code-execution-worker@code-execution-demo.iam.gserviceaccount.com',
      });
    });

    it('Artifact Registry holds the images, pushed with an access token', () => {
      expect(run.one('gcp:artifactregistry/repository:Repository').inputs).toMatchObject({ format: 'DOCKER', location: 'us-central1' });
      for (const image of run.all('docker:index/image:Image')) {
        expect(image.inputs.skipPush).toBe(false);
        expect(image.inputs.imageName).toMatch(/^us-central1-docker\.pkg\.dev\/code-execution-demo\/code-execution\/code-(worker|runner):latest$/);
        expect(reveal(image.inputs.registry)).toEqual({ server: 'us-central1-docker.pkg.dev', username: 'oauth2accesstoken', password: 'gcp-access-token' });
      }
    });

    it("a Kubernetes provider from the cluster's endpoint and CA, and every Kubernetes resource uses it", () => {
      const provider = run.one('pulumi:providers:kubernetes');
      expect(isSecret(provider.inputs.kubeconfig)).toBe(true);
      const kubeconfig = JSON.parse(reveal(provider.inputs.kubeconfig));
      expect(kubeconfig.clusters[0].cluster).toEqual({ server: 'https://203.0.113.10', 'certificate-authority-data': Buffer.from('cluster-ca').toString('base64') });
      expect(kubeconfig.users[0].user.exec.command).toBe('gke-gcloud-auth-plugin');
      const k8sResources = run.resources.filter((r) => r.type.startsWith('kubernetes:'));
      expect(k8sResources.length).toBeGreaterThan(5);
      for (const r of k8sResources) expect(r.provider, r.name).toMatch(/pulumi:providers:kubernetes::code-execution-gke::/);
    });
  });

  describe('the Kubernetes workload (sidecar mode)', () => {
    it('namespace code-execution: Pod Security enforces baseline (the root runner sidecar), audits restricted', () => {
      expect(run.one('kubernetes:core/v1:Namespace', '-workload-namespace').inputs.metadata).toMatchObject({
        name: 'code-execution',
        labels: {
          'pod-security.kubernetes.io/enforce': 'baseline',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
      });
    });

    it('a restricted worker and a root runner sidecar with exactly four capabilities; nothing privileged', () => {
      const spec = podSpec();
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(['worker']);
      const [worker] = spec.containers;
      const [runner] = spec.initContainers;
      expect(worker.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
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
      for (const o of walk(run.resources.map((r) => r.inputs))) expect(o.privileged).not.toBe(true);
      expect(runner).toMatchObject({ command: ['/opt/runner/sandbox-executor', '--serve', '/shared'], image: expect.stringMatching(/code-runner@sha256:/) });
      // A native sidecar: started (and its image pulled) before the worker, which starts once the sidecar serves.
      expect(spec.initContainers.map((c: { name: string; restartPolicy?: string }) => [c.name, c.restartPolicy])).toEqual([['runner', 'Always']]);
      expect(runner.startupProbe.exec.command.join(' ')).toContain('/shared/.sidecar-heartbeat');
      // Nothing of the worker's settings (or secrets) in the sandbox's environment.
      expect(runner.env).toBeUndefined();
    });

    it('memory-backed emptyDirs with size limits (/shared, the runner /workspace and /tmp), no /scratch, requests/limits, 30 s grace', () => {
      const spec = podSpec();
      const size = `${file['code-execution:workspaceSizeMb']}Mi`;
      expect(spec.volumes).toEqual(
        expect.arrayContaining([
          { name: 'shared', emptyDir: { medium: 'Memory', sizeLimit: size } },
          { name: 'runner-workspace', emptyDir: { medium: 'Memory', sizeLimit: size } },
          { name: 'runner-tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
        ]),
      );
      for (const v of spec.volumes) expect(v.emptyDir, v.name).toMatchObject({ medium: 'Memory', sizeLimit: expect.stringMatching(/^\d+Mi$/) });
      expect(spec.initContainers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(['/shared', '/workspace', '/tmp', '/dev/shm']);
      expect(JSON.stringify(spec)).not.toContain('scratch');
      expect(spec.terminationGracePeriodSeconds).toBe(30);
      const [worker] = spec.containers;
      const [runner] = spec.initContainers;
      expect(worker.resources.limits).toEqual({ cpu: `${file['code-execution:workerCpuMillis']}m`, memory: `${file['code-execution:workerMemoryMb']}Mi` });
      expect(runner.resources.requests).toEqual({ cpu: `${file['code-execution:runnerCpuMillis']}m`, memory: `${file['code-execution:runnerMemoryMb']}Mi` });
    });

    it('the runner sidecar holds the largest job plus overheads and its memory-backed /workspace, one job at a time', () => {
      const [runner] = podSpec().initContainers;
      const need = runnerSidecarMemory({ memoryBackedWorkspaceMb: Number(file['code-execution:workspaceSizeMb']) }).minimumMb;
      expect(parseInt(runner.resources.limits.memory, 10)).toBeGreaterThanOrEqual(need);
      expect(envOf(podSpec().containers[0]).MAX_CONCURRENT_JOBS.value).toBe('1');
    });

    it('Redis and database URLs live in a Secret and reach the worker by secretKeyRef, never as values', () => {
      const secret = run.one('kubernetes:core/v1:Secret', '-workload-credentials');
      expect(isSecret(secret.inputs.stringData)).toBe(true);
      const data = reveal(secret.inputs.stringData);
      expect(data).toEqual({
        REDIS_URL: 'redis://:memorystore-auth-string@10.60.0.3:6379',
        DATABASE_URL: 'postgres://code_execution:generated-code-execution-db-password@10.60.1.5:5432/code_execution?sslmode=verify-full',
        AWS_ACCESS_KEY_ID: 'GOOG1EMOCKACCESSID',
        AWS_SECRET_ACCESS_KEY: 'mock-hmac-secret',
      });
      const env = envOf(podSpec().containers[0]);
      for (const key of Object.keys(data)) {
        expect(env[key], key).toEqual({ name: key, valueFrom: { secretKeyRef: { name: 'code-execution-credentials', key } } });
      }
      expect(JSON.stringify(run.one('kubernetes:apps/v1:Deployment', '-workers').inputs)).not.toMatch(/memorystore-auth-string|generated-|mock-hmac-secret/);
    });

    it("the worker's plain environment: sidecar mode, GCS through its S3 API, concurrency", () => {
      const env = envOf(podSpec().containers[0]);
      const value = (k: string) => env[k]?.value;
      expect(value('RUNNER_MODE')).toBe('sidecar');
      expect(value('SIDECAR_DIR')).toBe('/shared');
      expect(value('S3_BUCKET')).toBe(run.outputs.bucket);
      expect(value('S3_ENDPOINT')).toBe('https://storage.googleapis.com');
      expect(value('MAX_CONCURRENT_JOBS')).toBe(file['code-execution:maxConcurrentJobs']);
      expect(value('METRICS_PORT')).toBe('9464');
      expect(env.CLOUDWATCH_METRICS).toBeUndefined();
      // Cloud SQL verified: the instance's server CA, and its identity (the certificate does not name the private IP).
      expect(value('DATABASE_CA_CERT')).toBe(TEST_CA_PEM.trim());
      expect(value('DATABASE_SERVER_NAME')).toBe('code-execution-demo:code-execution-db');
      expect(run.one('gcp:sql/databaseInstance:DatabaseInstance').inputs.settings.ipConfiguration.serverCaMode).toBe('GOOGLE_MANAGED_INTERNAL_CA');
    });

    it('PodDisruptionBudget, and an autoscaling/v2 HPA on the backlog from Managed Prometheus (average 10, 2-50)', () => {
      expect(run.one('kubernetes:policy/v1:PodDisruptionBudget').inputs.spec).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/component': 'worker' } } });
      expect(run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler', '-workers').inputs.spec).toMatchObject({
        scaleTargetRef: { kind: 'Deployment', name: 'code-execution-workers' },
        minReplicas: 2,
        maxReplicas: 50,
        metrics: [
          {
            type: 'External',
            external: {
              metric: {
                name: 'prometheus.googleapis.com|redis_stream_lag|gauge',
                selector: {
                  matchLabels: {
                    'resource.labels.cluster': 'code-execution',
                    'resource.labels.namespace': 'code-execution',
                    'metric.labels.stream': 'code-execution-jobs',
                    'metric.labels.group': 'execution-workers',
                    reducer: 'REDUCE_MAX',
                  },
                },
              },
              target: { type: 'AverageValue', averageValue: '10' },
            },
          },
        ],
      });
    });

    it('the metrics path: a PodMonitoring of the workers, the Stackdriver adapter as a service account that only reads Cloud Monitoring', () => {
      expect(run.one('kubernetes:monitoring.googleapis.com/v1:PodMonitoring').inputs.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
      expect(run.one('kubernetes:apps/v1:Deployment', '-metrics-adapter').inputs.spec.template.spec.serviceAccountName).toBe('custom-metrics-stackdriver-adapter');
      expect(run.one('kubernetes:core/v1:ServiceAccount', '-metrics-adapter').inputs.metadata.annotations).toEqual({
        'iam.gke.io/gcp-service-account': 'code-execution-metrics@code-execution-demo.iam.gserviceaccount.com',
      });
      const grants = run.all('gcp:projects/iAMMember:IAMMember').filter((m) => m.inputs.member === 'serviceAccount:code-execution-metrics@code-execution-demo.iam.gserviceaccount.com');
      expect(grants.map((m) => m.inputs.role)).toEqual(['roles/monitoring.viewer']);
      expect(run.one('gcp:serviceaccount/iAMMember:IAMMember').inputs).toMatchObject({
        role: 'roles/iam.workloadIdentityUser',
        member: 'serviceAccount:code-execution-demo.svc.id.goog[custom-metrics/custom-metrics-stackdriver-adapter]',
      });
      expect(run.all('kubernetes:apiregistration.k8s.io/v1:APIService').map((a) => a.inputs.metadata.name).sort()).toEqual([
        'v1beta1.custom.metrics.k8s.io',
        'v1beta1.external.metrics.k8s.io',
        'v1beta2.custom.metrics.k8s.io',
      ]);
    });

    it('NetworkPolicy: runner pods denied all ingress and egress; workers limited, Redis only at its address, SQL only in the private range', () => {
      const policies = run.all('kubernetes:networking.k8s.io/v1:NetworkPolicy');
      const runner = policies.find((p) => p.name.endsWith('runner-deny-all'))!;
      expect(runner.inputs.spec).toEqual({
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'code-execution', 'app.kubernetes.io/component': 'runner' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [],
        egress: [],
      });
      const worker = policies.find((p) => p.name.endsWith('worker-egress'))!;
      expect(worker.inputs.spec.egress.filter((r: { to?: unknown }) => r.to)).toHaveLength(2);
      // Redis only at Memorystore's address and port; PostgreSQL only in the private services range.
      expect(worker.inputs.spec.egress[1]).toEqual({ to: [{ ipBlock: { cidr: '10.60.0.3/32' } }], ports: [{ port: 6379, protocol: 'TCP' }] });
      expect(worker.inputs.spec.egress[2].to).toEqual([{ ipBlock: { cidr: '10.60.0.0/16' } }]);
    });

    it('sidecar mode needs no API access: no ServiceAccount, Role or token', () => {
      // The only ServiceAccount is the metrics adapter's, in its own namespace.
      expect(run.all('kubernetes:core/v1:ServiceAccount').map((sa) => sa.inputs.metadata.namespace)).toEqual(['custom-metrics']);
      expect(run.all('kubernetes:rbac.authorization.k8s.io/v1:Role')).toEqual([]);
      expect(podSpec().automountServiceAccountToken).toBe(false);
    });
  });

  describe('the HTTP API', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const apiPod = (): any => run.one('kubernetes:apps/v1:Deployment', '-api').inputs.spec.template.spec;

    it('a Deployment of `code-exec api` from the worker image: restricted, probes on /readyz and /healthz, resources', () => {
      const deployment = run.one('kubernetes:apps/v1:Deployment', '-api');
      expect(deployment.inputs.metadata).toMatchObject({ name: 'code-execution-api', namespace: 'code-execution' });
      expect(deployment.inputs.spec).toMatchObject({ replicas: DEFAULTS.apiMinReplicas, selector: { matchLabels: { 'app.kubernetes.io/component': 'api' } } });
      const spec = apiPod();
      expect(spec.automountServiceAccountToken).toBe(false);
      const [api] = spec.containers;
      expect(api).toMatchObject({
        name: 'api',
        image: run.outputs.workerImage,
        args: ['api'],
        ports: [{ name: 'http', containerPort: 2358 }],
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
        resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '250m', memory: '512Mi' } },
        securityContext: { runAsNonRoot: true, runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      });
      expect(envOf(api).REDIS_CLUSTER).toBeUndefined();
    });

    it('REDIS_URL, API_TOKENS and CALLBACK_SIGNING_KEY from its own Secret, by secretKeyRef', () => {
      const secret = run.one('kubernetes:core/v1:Secret', '-api-credentials');
      expect(isSecret(secret.inputs.stringData)).toBe(true);
      expect(reveal(secret.inputs.stringData)).toEqual({
        REDIS_URL: 'redis://:memorystore-auth-string@10.60.0.3:6379',
        API_TOKENS: 'generated-code-execution-api-token',
        CALLBACK_SIGNING_KEY: 'generated-code-execution-callback-signing-key',
      });
      const env = envOf(apiPod().containers[0]);
      for (const key of ['REDIS_URL', 'API_TOKENS', 'CALLBACK_SIGNING_KEY']) {
        expect(env[key], key).toEqual({ name: key, valueFrom: { secretKeyRef: { name: 'code-execution-api-credentials', key } } });
      }
      expect(JSON.stringify(run.one('kubernetes:apps/v1:Deployment', '-api').inputs)).not.toMatch(/memorystore-auth-string|generated-/);
    });

    it('a LoadBalancer Service on an internal load balancer by default; its address is apiUrl', () => {
      const service = run.one('kubernetes:core/v1:Service', '-api');
      expect(service.inputs.metadata.annotations).toEqual({ 'networking.gke.io/load-balancer-type': 'Internal' });
      expect(service.inputs.spec).toMatchObject({
        type: 'LoadBalancer',
        selector: { 'app.kubernetes.io/component': 'api' },
        ports: [{ port: 80, targetPort: 'http' }],
      });
      expect(run.outputs.apiUrl).toBe('http://10.50.0.100');
      expect(run.outputs.apiTokens).toBe('generated-code-execution-api-token');
    });

    it('an HPA on CPU utilization between the API bounds', () => {
      expect(run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler', '-api').inputs.spec).toMatchObject({
        scaleTargetRef: { kind: 'Deployment', name: 'code-execution-api' },
        minReplicas: DEFAULTS.apiMinReplicas,
        maxReplicas: DEFAULTS.apiMaxReplicas,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULTS.apiCpuTargetPercent } } }],
      });
    });

    it('a NetworkPolicy selecting the API pods: in on 2358, out only to Redis (its address and port)', () => {
      const policy = run.all('kubernetes:networking.k8s.io/v1:NetworkPolicy').find((p) => p.name.endsWith('-api'))!;
      expect(policy.inputs.spec).toEqual({
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'code-execution', 'app.kubernetes.io/component': 'api' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ port: 2358, protocol: 'TCP' }] }],
        egress: [{ to: [{ ipBlock: { cidr: '10.60.0.3/32' } }], ports: [{ port: 6379, protocol: 'TCP' }] }],
      });
    });
  });
});
