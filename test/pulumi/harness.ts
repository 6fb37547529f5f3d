// Runs the Pulumi program (index.ts) the way `pulumi up -s <stack>` would, but under mocks: the stack file's own
// config is loaded, every resource the program registers is recorded with its type, name and resolved inputs, and
// the mocks answer with plausible outputs for what the program reads back (endpoints, ARNs, digests, the cluster
// CA). Pulumi's runtime state is global to the process, so each test file runs one stack (vitest isolates files).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ACCOUNT = '123456789012';
/**
 * A CA certificate made for the mocks (no key kept): the RDS CA bundle an aws stack names (rdsCaBundleFile, which
 * no stack file can carry: the operator fetches it), and the server CA a mocked Cloud SQL instance reports.
 */
export const TEST_CA_FILE = `${ROOT}test/pulumi/fixtures/database-test-ca.pem`;
export const TEST_CA_PEM = readFileSync(TEST_CA_FILE, 'utf8');

/** The `config:` map of Pulumi.<stack>.yaml, every value as the string the Pulumi engine would hand the program. */
export function readStackConfig(stack: string): Record<string, string> {
  const doc = parse(readFileSync(`${ROOT}Pulumi.${stack}.yaml`, 'utf8')) as { config?: Record<string, unknown> };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (value !== null && typeof value === 'object') throw new Error(`Pulumi.${stack}.yaml: ${key} is structured; the program reads scalars only`);
    out[key] = String(value);
  }
  return out;
}

/** Pulumi.yaml's typed project config: key (without the project prefix) -> its declaration. */
export function readProjectSchema(): Record<string, { type: string; default?: unknown; description?: string }> {
  const doc = parse(readFileSync(`${ROOT}Pulumi.yaml`, 'utf8')) as { config?: Record<string, { type: string; default?: unknown; description?: string }> };
  const out: Record<string, { type: string; default?: unknown; description?: string }> = {};
  for (const [key, decl] of Object.entries(doc.config ?? {})) out[key.replace(/^code-execution:/, '')] = decl;
  return out;
}

// Resource inputs are arbitrary JSON; tests read them by path, so they are typed loosely on purpose.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Inputs = Record<string, any>;

export interface Registered {
  type: string;
  name: string;
  inputs: Inputs;
  /** What the mocks answered for the attributes the program reads back (outputsFor). */
  outputs: Inputs;
  /** The provider reference (`<urn>::<id>`) the resource was registered with, if any. */
  provider?: string;
}

/** The ARN the mocks give the Secrets Manager secret registered as `name`. */
const secretArn = (name: string) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-AbCdEf`;

/**
 * What the cloud makes and a rehearsal must make instead, so that its stand-in matches what the stack reads back:
 * Cloud SQL's server CA (an output of the instance), which the stand-in's certificate must chain to.
 */
export interface CloudAnswers {
  /** PEM; defaults to TEST_CA_PEM. */
  cloudSqlServerCa?: string;
}

/** Plausible provider outputs for the attributes the program reads back. */
function outputsFor(type: string, name: string, inputs: Inputs, cloud: CloudAnswers): Inputs {
  const region = 'us-east-1';
  switch (type) {
    case 'aws:ec2/vpcEndpoint:VpcEndpoint':
      return { prefixListId: 'pl-63a5400a' };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      // In cluster mode ElastiCache has no primary endpoint, only the configuration endpoint.
      return inputs.clusterMode === 'enabled'
        ? { configurationEndpointAddress: `clustercfg.${name}.abc123.use1.cache.amazonaws.com` }
        : { primaryEndpointAddress: `master.${name}.abc123.use1.cache.amazonaws.com` };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return { arn: `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:loadbalancer/app/${name}/50dc6c495c0c9188`, dnsName: `${inputs.internal ? 'internal-' : ''}${name}-1234567890.${region}.elb.amazonaws.com` };
    case 'gcp:redis/cluster:Cluster':
      return { discoveryEndpoints: [{ address: '10.50.16.2', port: 6379 }] };
    case 'aws:rds/instance:Instance':
      return { address: `${name}.abc123.${region}.rds.amazonaws.com` };
    case 'aws:ecr/repository:Repository':
      return { repositoryUrl: `${ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${name}`, registryId: ACCOUNT, name };
    case 'aws:secretsmanager/secret:Secret':
      return { arn: secretArn(name) };
    case 'aws:s3/bucket:Bucket':
      return { bucket: `${name}-7f3a9c1`, arn: `arn:aws:s3:::${name}-7f3a9c1` };
    case 'aws:cloudwatch/logGroup:LogGroup':
      return { name: `${name}-5e1d2b0` };
    case 'aws:ecs/taskDefinition:TaskDefinition':
      return { arn: `arn:aws:ecs:${region}:${ACCOUNT}:task-definition/${inputs.family}:1` };
    case 'docker:index/image:Image': {
      const repo = String(inputs.imageName).replace(/:[^:/]+$/, '');
      return { repoDigest: `${repo}@sha256:${'ab'.repeat(32)}` };
    }
    case 'docker:index/volume:Volume':
      // Where a Linux engine with its default data root keeps a named volume.
      return { mountpoint: `/var/lib/docker/volumes/${inputs.name}/_data` };
    case 'docker:index/remoteImage:RemoteImage':
      // One id per image name, as the engine's would be.
      return { imageId: `sha256:${createHash('sha256').update(String(inputs.name)).digest('hex')}` };
    case 'random:index/randomPassword:RandomPassword':
      return { result: `generated-${name}` };
    case 'gcp:container/cluster:Cluster':
      return { name, endpoint: '203.0.113.10', masterAuth: { clusterCaCertificate: Buffer.from('cluster-ca').toString('base64') } };
    case 'gcp:redis/instance:Instance':
      return { host: '10.60.0.3', port: 6379, authString: 'memorystore-auth-string' };
    case 'gcp:sql/databaseInstance:DatabaseInstance':
      return { name, privateIpAddress: '10.60.1.5', serverCaCerts: [{ cert: cloud.cloudSqlServerCa ?? TEST_CA_PEM, commonName: 'C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA' }] };
    case 'gcp:compute/globalAddress:GlobalAddress':
      return { name, address: '10.60.0.0' };
    case 'gcp:storage/bucket:Bucket':
      return { name: `${name}-8b2c4d1` };
    case 'gcp:serviceaccount/account:Account':
      return { email: `${inputs.accountId}@${inputs.project}.iam.gserviceaccount.com` };
    case 'gcp:storage/hmacKey:HmacKey':
      return { accessId: 'GOOG1EMOCKACCESSID', secret: 'mock-hmac-secret' };
  }
  if (type === 'kubernetes:core/v1:Service' && inputs.spec?.type === 'LoadBalancer') {
    return { metadata: { ...inputs.metadata, name: inputs.metadata.name ?? name }, status: { loadBalancer: { ingress: [{ ip: '10.50.0.100' }] } } };
  }
  if (type.startsWith('kubernetes:') && inputs.metadata) return { metadata: { ...inputs.metadata, name: inputs.metadata.name ?? name } };
  if (type.startsWith('aws:')) return { arn: `arn:aws:mock:${region}:${ACCOUNT}:${name}`, name: inputs.name ?? name };
  return { name: inputs.name ?? name };
}

/** Answers of the provider functions the program calls. */
function callResult(token: string, inputs: Inputs): Inputs {
  switch (token) {
    case 'aws:index/getAvailabilityZones:getAvailabilityZones':
      return { names: ['us-east-1a', 'us-east-1b', 'us-east-1c'], zoneIds: ['use1-az1', 'use1-az2', 'use1-az4'] };
    case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
      return { proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, userName: 'AWS', password: 'ecr-login-token', authorizationToken: 'QVdTOnRva2Vu' };
    case 'gcp:organizations/getClientConfig:getClientConfig':
      return { accessToken: 'gcp-access-token', project: 'code-execution-demo', region: 'us-central1', zone: '', id: 'x' };
  }
  return inputs;
}

/**
 * Installs the mocks for `stack` (the stack tests' and the concern tests'): every resource registered from now on
 * is recorded in the returned list and answered with plausible provider outputs.
 */
export async function recordResources(stack: string, cloud: CloudAnswers = {}): Promise<Registered[]> {
  const resources: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const outputs = outputsFor(args.type, args.name, args.inputs, cloud);
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, outputs, provider: args.provider });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs } };
      },
      call: (args) => callResult(args.token, args.inputs),
    },
    'code-execution',
    stack,
    false,
  );
  return resources;
}

export interface StackRun {
  /** The program's exports. */
  program: Record<string, unknown>;
  /** Its `outputs` export, resolved. */
  outputs: Record<string, string>;
  resources: Registered[];
  /** Every resource of a type. */
  all(type: string): Registered[];
  /** The one resource of a type (whose name ends with `nameSuffix`, when given); throws unless exactly one. */
  one(type: string, nameSuffix?: string): Registered;
}

/**
 * What an operator adds to a stack file by hand before `pulumi up`: the aws stack's RDS CA bundle (the test CA here).
 */
export const OPERATOR_CONFIG: Record<string, Record<string, string>> = { aws: { 'code-execution:rdsCaBundleFile': TEST_CA_FILE } };

/**
 * Loads Pulumi.<stack>.yaml (plus what the operator adds, OPERATOR_CONFIG, and `overrides`), installs the mocks
 * (answering with `cloud` where given), imports index.ts, and waits until every registration has been answered. Call
 * once per test file.
 */
export async function runStack(stack: string, overrides: Record<string, string> = {}, cloud: CloudAnswers = {}): Promise<StackRun> {
  pulumi.runtime.setAllConfig({ ...readStackConfig(stack), ...OPERATOR_CONFIG[stack], ...overrides });
  const resources = await recordResources(stack, cloud);
  const program = (await import('../../index.js')) as Record<string, unknown>;
  const exported = program.outputs as Record<string, pulumi.Output<string>>;
  const outputs = await new Promise<Record<string, string>>((resolve) =>
    pulumi.all(exported).apply((values) => resolve(values as Record<string, string>)),
  );
  // Resources nothing exported depends on (policies, rules) may still be in flight: wait for the RPC queue to drain.
  await pulumi.runtime.disconnect();
  const all = (type: string) => resources.filter((r) => r.type === type);
  return {
    program,
    outputs,
    resources,
    all,
    one(type, nameSuffix) {
      const found = all(type).filter((r) => nameSuffix === undefined || r.name.endsWith(nameSuffix));
      if (found.length !== 1) {
        throw new Error(`expected one ${type}${nameSuffix ? ` named *${nameSuffix}` : ''}, found ${found.length}: ${found.map((r) => r.name).join(', ')}`);
      }
      return found[0];
    },
  };
}

/**
 * What Secrets Manager holds for each secret the stack creates, by the ARN a task definition's `valueFrom` names:
 * what the ECS execution role reads and the agent injects (the value of the secret's version, revealed).
 */
export function secretValues(run: Pick<StackRun, 'all'>): Record<string, string> {
  const secrets = run.all('aws:secretsmanager/secret:Secret');
  return Object.fromEntries(
    run.all('aws:secretsmanager/secretVersion:SecretVersion').map((version) => {
      // The version names its secret by id (`<name>-id` under the mocks).
      const secret = secrets.find((s) => `${s.name}-id` === version.inputs.secretId);
      if (!secret) throw new Error(`secret version ${version.name} names secret ${version.inputs.secretId}, which the stack does not create`);
      return [secretArn(secret.name), String(reveal(version.inputs.secretString))];
    }),
  );
}

/** Every object nested anywhere in `value` (to look for e.g. a `privileged` key at any depth). */
export function* walk(value: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(value)) {
    for (const v of value) yield* walk(v);
  } else if (value !== null && typeof value === 'object') {
    yield value as Record<string, unknown>;
    for (const v of Object.values(value)) yield* walk(v);
  }
}

/** The marker Pulumi's serialisation puts on a secret value (the mocks receive inputs in that form). */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

export function isSecret(value: unknown): boolean {
  return value !== null && typeof value === 'object' && SECRET_SIG in value;
}

/** A value with its secret wrapper (if any) removed, at any depth. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function reveal(value: unknown): any {
  if (isSecret(value)) return reveal((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map(reveal);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  return value;
}

/** Checks the program's plain exports against the stack file it ran with. */
export function expectedExports(stack: string, defaults: { maxConcurrentJobs: number; minWorkers: number; maxWorkers: number; queueDepthTarget: number }) {
  const file = readStackConfig(stack);
  const num = (key: keyof typeof defaults) => (file[`code-execution:${key}`] ? Number(file[`code-execution:${key}`]) : defaults[key]);
  return {
    target: file['code-execution:target'],
    runnerMode: file['code-execution:runnerMode'],
    maxConcurrentJobs: num('maxConcurrentJobs'),
    workers: { min: num('minWorkers'), max: num('maxWorkers') },
    queueDepthTarget: num('queueDepthTarget'),
  };
}
