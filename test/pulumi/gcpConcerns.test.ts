// Each concern of components/gcp/ alone: built under mocks as the child of a bare parent, with inputs of the test's
// own, and its pure pieces without mocks. The stack as a whole is test/pulumi/gcp.test.ts (and gcpKubernetesMode).
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { apiResourceName, enableApis, GCP_SERVICES } from '../../components/gcp/apis.js';
import { createCluster } from '../../components/gcp/cluster.js';
import { createCodeBucket } from '../../components/gcp/codeBucket.js';
import { serviceAccountId } from '../../components/gcp/serviceAccountId.js';
import { cloudSqlAvailability, cloudSqlDatabaseUrl, createDatabase, type Database } from '../../components/gcp/database.js';
import { stackLabelValue } from '../../components/gcp/index.js';
import { createNetwork, NODE_SUBNET } from '../../components/gcp/network.js';
import { createRedis, memorystoreRedisUrl, memorystoreTier } from '../../components/gcp/redis.js';
import { artifactRegistryHost, createRegistry } from '../../components/gcp/registry.js';
import { createWorkers } from '../../components/gcp/workers.js';
import { createApi } from '../../components/gcp/api.js';
import { clusterReach, instanceReach } from '../../components/gcp/redis.js';
import { capture, TestParent } from './componentMocks.js';
import { isSecret, reveal, TEST_CA_PEM } from './harness.js';

const labels = { 'code-execution-stack': 'test' };
const base = { project: 'proj-123456', region: 'europe-west1' };

describe('gcp apis', () => {
  it('every API the stack uses, enabled and left enabled on destroy', async () => {
    expect(apiResourceName('e', 'sqladmin.googleapis.com')).toBe('e-sqladmin');
    const run = await capture(() => enableApis('e', 'proj-123456', new TestParent('e')));
    expect(run.all('gcp:projects/service:Service').map((s) => [s.inputs.service, s.inputs.disableOnDestroy, s.inputs.project])).toEqual(
      GCP_SERVICES.map((s) => [s, false, 'proj-123456']),
    );
  });
});

describe('gcp network', () => {
  it('a custom-mode VPC, the nodes subnet with Private Google Access and secondary ranges, the private services peering', async () => {
    const run = await capture(() => createNetwork('n', { ...base, dependsOn: [] }, new TestParent('n')));
    expect(run.one('gcp:compute/network:Network').inputs).toMatchObject({ project: 'proj-123456', autoCreateSubnetworks: false });
    expect(run.one('gcp:compute/subnetwork:Subnetwork').inputs).toMatchObject({
      region: 'europe-west1',
      ipCidrRange: NODE_SUBNET.cidr,
      privateIpGoogleAccess: true,
      secondaryIpRanges: [NODE_SUBNET.pods, NODE_SUBNET.services],
    });
    expect(run.one('gcp:compute/globalAddress:GlobalAddress').inputs).toMatchObject({ purpose: 'VPC_PEERING', addressType: 'INTERNAL', prefixLength: 16, network: 'n-vpc-id' });
    expect(run.one('gcp:servicenetworking/connection:Connection').inputs).toMatchObject({ network: 'n-vpc-id', reservedPeeringRanges: ['n-private-services'] });
  });
});

describe('gcp cluster', () => {
  it('Autopilot with private nodes on the given network, and a provider from its endpoint and CA', async () => {
    const run = await capture(() => createCluster('k', { ...base, network: 'net-1', subnetwork: 'sub-1', labels }, new TestParent('k')));
    expect(run.one('gcp:container/cluster:Cluster').inputs).toMatchObject({
      location: 'europe-west1',
      enableAutopilot: true,
      network: 'net-1',
      subnetwork: 'sub-1',
      ipAllocationPolicy: { clusterSecondaryRangeName: 'pods', servicesSecondaryRangeName: 'services' },
      privateClusterConfig: { enablePrivateNodes: true },
    });
    const provider = run.one('pulumi:providers:kubernetes');
    expect(provider.name).toBe('k-gke');
    expect(isSecret(provider.inputs.kubeconfig)).toBe(true);
    expect(JSON.parse(reveal(provider.inputs.kubeconfig)).clusters[0].cluster.server).toBe('https://203.0.113.10');
  });
});

describe('gcp redis', () => {
  it('Memorystore with AUTH on the peering; BASIC or STANDARD_HA; REDIS_URL', async () => {
    expect([memorystoreTier(false), memorystoreTier(true)]).toEqual(['BASIC', 'STANDARD_HA']);
    expect(memorystoreRedisUrl('a', '10.0.0.1', 6379)).toBe('redis://:a@10.0.0.1:6379');
    let url: pulumi.Output<string> | undefined;
    const run = await capture(() => {
      const parent = new TestParent('r');
      const peering = new TestParent('r-peering');
      url = createRedis('r', { ...base, memoryGb: 5, multiAz: true, network: 'net-1', peering, labels }, parent).url;
    });
    expect(run.one('gcp:redis/instance:Instance').inputs).toMatchObject({
      tier: 'STANDARD_HA',
      memorySizeGb: 5,
      authorizedNetwork: 'net-1',
      connectMode: 'PRIVATE_SERVICE_ACCESS',
      authEnabled: true,
    });
    expect(await new Promise((resolve) => url!.apply(resolve))).toBe('redis://:memorystore-auth-string@10.60.0.3:6379');
  });
});

describe('gcp database', () => {
  it('Cloud SQL on a private IP only, TLS required and verified; ZONAL or REGIONAL; the generated password in DATABASE_URL', async () => {
    expect([cloudSqlAvailability(false), cloudSqlAvailability(true)]).toEqual(['ZONAL', 'REGIONAL']);
    expect(cloudSqlDatabaseUrl('u', 'p', 'h', 'd')).toBe('postgres://u:p@h:5432/d?sslmode=verify-full');
    let database: Database | undefined;
    const run = await capture(() => {
      database = createDatabase('d', { ...base, tier: 'db-custom-2-7680', storageGb: 40, multiAz: false, network: 'net-1', peering: new TestParent('d-peering'), labels }, new TestParent('d'));
    });
    // The instance's own server CA and identity, for the workers to verify it by.
    expect(await new Promise((r) => database!.serverCa.apply(r))).toBe(TEST_CA_PEM.trim());
    expect(await new Promise((r) => database!.serverName.apply(r))).toBe('proj-123456:d-db');
    expect(run.one('gcp:sql/databaseInstance:DatabaseInstance').inputs.settings).toMatchObject({
      tier: 'db-custom-2-7680',
      availabilityType: 'ZONAL',
      diskSize: 40,
      ipConfiguration: { ipv4Enabled: false, privateNetwork: 'net-1', sslMode: 'ENCRYPTED_ONLY', serverCaMode: 'GOOGLE_MANAGED_INTERNAL_CA' },
    });
    expect(run.one('gcp:sql/database:Database').inputs).toMatchObject({ name: 'code_execution', instance: 'd-db' });
    expect(reveal(run.one('gcp:sql/user:User').inputs.password)).toBe('generated-d-db-password');
  });
});

describe('gcp code bucket', () => {
  it('uniform access, public access prevented, expiring; a worker account that may only read it, with an HMAC key', async () => {
    expect(serviceAccountId('env', 'worker')).toBe('env-worker');
    expect(serviceAccountId('x'.repeat(40), 'worker')).toBe('x'.repeat(30));
    const run = await capture(() => createCodeBucket('c', { ...base, expirationDays: 4, dependsOn: [], labels }, new TestParent('c')));
    expect(run.one('gcp:storage/bucket:Bucket').inputs).toMatchObject({
      location: 'EUROPE-WEST1',
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      lifecycleRules: [{ action: { type: 'Delete' }, condition: { age: 4 } }],
    });
    expect(run.one('gcp:storage/bucketIAMMember:BucketIAMMember').inputs).toMatchObject({
      role: 'roles/storage.objectViewer',
      member: 'serviceAccount:c-worker@proj-123456.iam.gserviceaccount.com',
    });
    expect(run.one('gcp:storage/hmacKey:HmacKey').inputs.serviceAccountEmail).toBe('c-worker@proj-123456.iam.gserviceaccount.com');
  });
});

describe('gcp registry', () => {
  it("a Docker repository in the region, the images pushed to it with the deployer's token", async () => {
    expect(artifactRegistryHost('asia-east1')).toBe('asia-east1-docker.pkg.dev');
    const run = await capture(() => createRegistry('g', { ...base, dependsOn: [], labels, runnerLanguages: 'all' }, new TestParent('g')));
    expect(run.one('gcp:artifactregistry/repository:Repository').inputs).toMatchObject({ format: 'DOCKER', location: 'europe-west1', repositoryId: 'g' });
    expect(run.all('docker:index/image:Image').map((i) => i.inputs.imageName).sort()).toEqual([
      'europe-west1-docker.pkg.dev/proj-123456/g/code-runner:latest',
      'europe-west1-docker.pkg.dev/proj-123456/g/code-worker:latest',
    ]);
  });
});

describe('gcp workers', () => {
  it('the Kubernetes workload with the given sizes, GCS through its S3 API, the credentials in its Secret, on the given provider', async () => {
    expect(stackLabelValue('My.Stack')).toBe('my-stack');
    const run = await capture(() => {
      const parent = new TestParent('w');
      const provider = new k8s.Provider('w-gke', { kubeconfig: '{}' }, { parent });
      createWorkers(
        'w',
        {
          runnerMode: 'sidecar',
          minWorkers: 3,
          maxWorkers: 7,
          queueDepthTarget: 5,
          maxConcurrentJobs: 1,
          workerCpuMillis: 250,
          workerMemoryMb: 768,
          runnerCpuMillis: 1200,
          runnerMemoryMb: 2560,
          workspaceSizeMb: 256,
          images: { workerImage: pulumi.output('w@sha256:1'), runnerImage: pulumi.output('r@sha256:2') },
          bucket: 'code',
          hmacAccessId: 'AK',
          hmacSecret: 'SK',
          redisUrl: 'redis://:a@10.0.0.1:6379',
          databaseUrl: 'postgres://u:p@10.0.0.2:5432/d',
          privateServicesCidr: '10.60.0.0/16',
          nodeSelector: { 'kubernetes.io/arch': 'arm64' },
          clusterName: 'cl',
          databaseCaCert: 'PEM',
          databaseServerName: 'proj:db',
          provider,
        },
        parent,
      );
    });
    expect(run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler').inputs.spec).toMatchObject({ minReplicas: 3, maxReplicas: 7 });
    // The HPA's backlog: this cluster's worker namespace, from Managed Prometheus, which the PodMonitoring feeds.
    expect(run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler').inputs.spec.metrics[0].external.metric.selector.matchLabels).toMatchObject({
      'resource.labels.cluster': 'cl',
      'resource.labels.namespace': 'code-execution',
      reducer: 'REDUCE_MAX',
    });
    expect(run.one('kubernetes:monitoring.googleapis.com/v1:PodMonitoring').inputs).toMatchObject({
      metadata: { namespace: 'code-execution' },
      spec: { selector: { matchLabels: { 'app.kubernetes.io/component': 'worker' } }, endpoints: [{ port: 'metrics', path: '/metrics' }] },
    });
    const spec = run.one('kubernetes:apps/v1:Deployment').inputs.spec.template.spec;
    expect(spec.containers[0].resources.limits).toEqual({ cpu: '250m', memory: '768Mi' });
    expect(spec.initContainers[0].resources.limits).toEqual({ cpu: '1200m', memory: '2560Mi' });
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'arm64' });
    const env = Object.fromEntries(spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ S3_BUCKET: 'code', S3_REGION: 'auto', S3_ENDPOINT: 'https://storage.googleapis.com', MAX_CONCURRENT_JOBS: '1', DATABASE_CA_CERT: 'PEM', DATABASE_SERVER_NAME: 'proj:db' });
    expect(reveal(run.one('kubernetes:core/v1:Secret').inputs.stringData)).toEqual({
      REDIS_URL: 'redis://:a@10.0.0.1:6379',
      DATABASE_URL: 'postgres://u:p@10.0.0.2:5432/d',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
    });
    for (const r of run.resources.filter((x) => x.type.startsWith('kubernetes:'))) expect(r.provider, r.name).toMatch(/::w-gke::/);
  });
});

describe('gcp api', () => {
  it('Redis reach: one address for an instance, the PSC subnet and node ports for a cluster', () => {
    expect(instanceReach('10.0.0.5', 6379)).toEqual({ cidr: '10.0.0.5/32', ports: [{ port: 6379 }] });
    expect(clusterReach()).toEqual({ cidr: '10.50.16.0/24', ports: [{ port: 6379 }, { port: 11000, endPort: 13047 }] });
  });

  it('public: no internal annotation; the given tokens and REDIS_CLUSTER in the pods; the given bounds; on the given provider', async () => {
    const run = await capture(() => {
      const parent = new TestParent('a');
      const provider = new k8s.Provider('a-gke', { kubeconfig: '{}' }, { parent });
      createApi(
        'a',
        {
          image: 'w@sha256:1',
          namespace: 'ns',
          redisUrl: 'redis://10.0.0.5:6379',
          redisReach: instanceReach('10.0.0.5', 6379),
          redisCluster: true,
          tokens: pulumi.secret('given-token-1'),
          public: true,
          minReplicas: 1,
          maxReplicas: 4,
          cpuTargetPercent: 70,
          cpuMillis: 300,
          memoryMb: 256,
          nodeSelector: { 'kubernetes.io/arch': 'amd64' },
          provider,
        },
        parent,
      );
    });
    const service = run.one('kubernetes:core/v1:Service');
    expect(service.inputs.metadata).toMatchObject({ name: 'ns-api', namespace: 'ns' });
    expect(service.inputs.metadata.annotations).toEqual({});
    expect(reveal(run.one('kubernetes:core/v1:Secret').inputs.stringData).API_TOKENS).toBe('given-token-1');
    expect(run.all('random:index/randomPassword:RandomPassword').map((p) => p.name)).toEqual(['a-callback-signing-key']);
    const [api] = run.one('kubernetes:apps/v1:Deployment').inputs.spec.template.spec.containers;
    expect(api.env).toContainEqual({ name: 'REDIS_CLUSTER', value: 'true' });
    expect(api.resources.limits).toEqual({ cpu: '300m', memory: '256Mi' });
    expect(run.one('kubernetes:apps/v1:Deployment').inputs.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/arch': 'amd64' });
    expect(run.one('kubernetes:autoscaling/v2:HorizontalPodAutoscaler').inputs.spec).toMatchObject({ minReplicas: 1, maxReplicas: 4 });
    for (const r of run.resources.filter((x) => x.type.startsWith('kubernetes:'))) expect(r.provider, r.name).toMatch(/::a-gke::/);
  });
});
