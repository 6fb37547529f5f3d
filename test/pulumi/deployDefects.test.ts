// Deployment defects of issue 20 that show in the stacks' own resource specs, each built from the stack's code under
// mocks (the environment components, as index.ts builds them) or from its pure config rules:
// - gcp with redisCluster: Memorystore for Redis Cluster needs serviceconsumermanagement.googleapis.com enabled;
// - GKE nodes run as a dedicated service account that may pull from the stack's Artifact Registry and write logs
//   and metrics, not as the default compute account (which projects created after May 2024 give no roles);
// - aws: the task role may list the code bucket (without s3:ListBucket a missing key answers 403, which the worker
//   retries as S3's fault, instead of 404, which it rejects); the runner container has a CPU share of its own;
// - images: built for the engine's own platform on local, for imagePlatform (linux/amd64 or linux/arm64) on the
//   clouds, whose tasks and pods then ask for that architecture.
import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRdsCaBundle } from '../../components/aws/databaseCa.js';
import { AwsEnvironment } from '../../components/aws/index.js';
import { cpuUnits } from '../../components/ecsContainers.js';
import { GcpEnvironment } from '../../components/gcp/index.js';
import { Images } from '../../components/images.js';
import { DEFAULTS, parseStackConfig, StackConfigError, STACK_KEYS } from '../../components/stackConfig.js';
import { capture, type Captured } from './componentMocks.js';
import { TEST_CA_FILE, TEST_CA_PEM } from './harness.js';

const gcp = (args: Partial<ConstructorParameters<typeof GcpEnvironment>[1]> = {}) =>
  capture(() => new GcpEnvironment('d', { project: 'proj-123456', region: 'us-central1', ...args }));
const aws = (args: Partial<ConstructorParameters<typeof AwsEnvironment>[1]> = {}) =>
  capture(() => new AwsEnvironment('d', { region: 'us-east-1', databaseCaBundle: TEST_CA_PEM, ...args }));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const containersOf = (run: Captured, taskDefinition: string): any[] => JSON.parse(run.one('aws:ecs/taskDefinition:TaskDefinition', taskDefinition).inputs.containerDefinitions);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const podSpecOf = (run: Captured, deployment: string): any => run.one('kubernetes:apps/v1:Deployment', deployment).inputs.spec.template.spec;

describe('gcp: Memorystore for Redis Cluster', () => {
  it('enables serviceconsumermanagement.googleapis.com (with networkconnectivity) before the cluster', async () => {
    const run = await gcp({ redisCluster: true });
    const services = run.all('gcp:projects/service:Service').map((s) => s.inputs.service);
    expect(services).toEqual(expect.arrayContaining(['serviceconsumermanagement.googleapis.com', 'networkconnectivity.googleapis.com', 'redis.googleapis.com']));
    expect(run.one('gcp:projects/service:Service', 'd-serviceconsumermanagement').inputs).toMatchObject({ project: 'proj-123456', disableOnDestroy: false });
  });
});

describe('gcp: the GKE nodes', () => {
  it('run as a dedicated service account with Artifact Registry read on the stack repository, log and metric writing', async () => {
    const run = await gcp();
    const account = run.one('gcp:serviceaccount/account:Account', 'd-nodes');
    expect(account.inputs).toMatchObject({ project: 'proj-123456', accountId: 'd-nodes' });
    const email = 'd-nodes@proj-123456.iam.gserviceaccount.com';
    const member = `serviceAccount:${email}`;
    const projectRoles = run
      .all('gcp:projects/iAMMember:IAMMember')
      .filter((m) => m.inputs.member === member)
      .map((m) => [m.inputs.project, m.inputs.role]);
    // GKE's documented minimum for a node account (the CIS benchmark's too): write logs and metrics, read metrics,
    // write resource metadata.
    expect(projectRoles.sort()).toEqual([
      ['proj-123456', 'roles/logging.logWriter'],
      ['proj-123456', 'roles/monitoring.metricWriter'],
      ['proj-123456', 'roles/monitoring.viewer'],
      ['proj-123456', 'roles/stackdriver.resourceMetadata.writer'],
    ]);
    const reader = run.one('gcp:artifactregistry/repositoryIamMember:RepositoryIamMember', 'd-nodes-pull-images');
    expect(reader.inputs).toMatchObject({ project: 'proj-123456', location: 'us-central1', repository: 'd', role: 'roles/artifactregistry.reader', member });
    // Autopilot takes its nodes' account from the auto-provisioning defaults.
    expect(run.one('gcp:container/cluster:Cluster').inputs.clusterAutoscaling).toEqual({
      autoProvisioningDefaults: { serviceAccount: email, oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'] },
    });
  });
});

describe('aws: the worker task', () => {
  it('its role may list the code bucket (a missing key is a 404 the worker rejects) and read its objects', async () => {
    const run = await aws();
    const policy = JSON.parse(run.one('aws:iam/rolePolicy:RolePolicy', 'd-task').inputs.policy);
    const bucketArn = 'arn:aws:s3:::d-code-7f3a9c1';
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: bucketArn }));
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: `${bucketArn}/*` }));
  });

  it('the runner container has its CPU share (ECS gives a container without `cpu` 2 shares against the worker\'s)', async () => {
    const run = await aws({ workerCpuMillis: 500, runnerCpuMillis: 1500 });
    const [worker, runner] = containersOf(run, 'd-worker');
    expect([worker.name, worker.cpu, runner.name, runner.cpu]).toEqual(['worker', cpuUnits(500), 'runner', cpuUnits(1500)]);
    expect(worker.cpu + runner.cpu).toBeLessThanOrEqual(Number(run.one('aws:ecs/taskDefinition:TaskDefinition', 'd-worker').inputs.cpu));
  });
});

describe('images: the platform they are built for', () => {
  it('local: the Docker engine\'s own platform (no --platform), so a Mac with Apple silicon builds arm64', async () => {
    const run = await capture(() => new Images('local-images', {}));
    for (const image of run.all('docker:index/image:Image')) expect(image.inputs.build.platform, image.name).toBeUndefined();
  });

  it('the clouds: imagePlatform, linux/amd64 by default; ECS tasks and GKE pods ask for that architecture', async () => {
    expect(STACK_KEYS.imagePlatform.default).toBe('linux/amd64');
    const amd = await aws();
    for (const image of amd.all('docker:index/image:Image')) expect(image.inputs.build.platform, image.name).toBe('linux/amd64');
    for (const td of amd.all('aws:ecs/taskDefinition:TaskDefinition')) expect(td.inputs.runtimePlatform, td.name).toEqual({ operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' });

    const arm = await aws({ imagePlatform: 'linux/arm64' });
    for (const image of arm.all('docker:index/image:Image')) expect(image.inputs.build.platform, image.name).toBe('linux/arm64');
    for (const td of arm.all('aws:ecs/taskDefinition:TaskDefinition')) expect(td.inputs.runtimePlatform, td.name).toEqual({ operatingSystemFamily: 'LINUX', cpuArchitecture: 'ARM64' });

    const gcpAmd = await gcp();
    for (const image of gcpAmd.all('docker:index/image:Image')) expect(image.inputs.build.platform, image.name).toBe('linux/amd64');
    for (const deployment of ['d-workload-workers', 'd-api-api']) expect(podSpecOf(gcpAmd, deployment).nodeSelector, deployment).toEqual({ 'kubernetes.io/arch': 'amd64' });

    const gcpArm = await gcp({ imagePlatform: 'linux/arm64' });
    for (const image of gcpArm.all('docker:index/image:Image')) expect(image.inputs.build.platform, image.name).toBe('linux/arm64');
    // Autopilot runs arm64 only in a compute class that has Arm nodes.
    for (const deployment of ['d-workload-workers', 'd-api-api']) {
      expect(podSpecOf(gcpArm, deployment).nodeSelector, deployment).toEqual({ 'kubernetes.io/arch': 'arm64', 'cloud.google.com/compute-class': 'Scale-Out' });
    }
  });

  it('imagePlatform is validated: linux/amd64 or linux/arm64, and arm64 not with gcp kubernetes mode (its runner Jobs pick no architecture)', () => {
    const parse = (config: Record<string, string>) => () => parseStackConfig((k) => config[k]);
    expect(parseStackConfig(() => undefined).imagePlatform).toBe(DEFAULTS.imagePlatform);
    expect(parse({ target: 'aws', runnerMode: 'sidecar', runnerMemoryMb: '2048', imagePlatform: 'linux/arm64' })().imagePlatform).toBe('linux/arm64');
    expect(parse({ imagePlatform: 'linux/386' })).toThrow(StackConfigError);
    expect(parse({ imagePlatform: 'linux/386' })).toThrow('pulumi config set code-execution:imagePlatform linux/amd64');
    expect(parse({ target: 'gcp', runnerMode: 'kubernetes', imagePlatform: 'linux/arm64' })).toThrow(/imagePlatform linux\/arm64 .*kubernetes/);
  });
});

describe('aws: the RDS CA bundle the workers verify the database with (rdsCaBundleFile)', () => {
  it('unset, unreadable, not CAs, or too big for a task definition: refused at the start with the command that fetches it', () => {
    const fetch = /curl -fsSLo rds-ca\.pem https:\/\/truststore\.pki\.rds\.amazonaws\.com\/eu-west-1\/eu-west-1-bundle\.pem && pulumi config set code-execution:rdsCaBundleFile rds-ca\.pem/;
    expect(() => readRdsCaBundle('', 'eu-west-1')).toThrow(StackConfigError);
    expect(() => readRdsCaBundle('', 'eu-west-1')).toThrow(fetch);
    expect(() => readRdsCaBundle('/nonexistent/rds-ca.pem', 'eu-west-1')).toThrow(fetch);
    const dir = mkdtempSync(join(tmpdir(), 'rds-ca-'));
    try {
      writeFileSync(join(dir, 'empty.pem'), 'not a certificate\n');
      expect(() => readRdsCaBundle(join(dir, 'empty.pem'), 'eu-west-1')).toThrow(/holds no PEM certificate/);
      writeFileSync(join(dir, 'huge.pem'), Array.from({ length: 30 }, () => TEST_CA_PEM).join(''));
      expect(() => readRdsCaBundle(join(dir, 'huge.pem'), 'eu-west-1')).toThrow(/more than a task definition can carry/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readRdsCaBundle(TEST_CA_FILE, 'eu-west-1').trim()).toBe(TEST_CA_PEM.trim());
  });
});
