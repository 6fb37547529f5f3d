// Builds a piece of Pulumi program (one concern of a target, or one component) under mocks and records what it
// registers, for the tests that look at one concern alone. The mocks answer with plausible provider outputs for the
// attributes the concerns read back; `capture` may be called once per test (it reinstalls the mocks each time).
import * as pulumi from '@pulumi/pulumi';
import type { Inputs, Registered } from './harness.js';

export const MOCK_ACCOUNT = '123456789012';

function outputsFor(type: string, name: string, inputs: Inputs): Inputs {
  switch (type) {
    case 'aws:ec2/vpcEndpoint:VpcEndpoint':
      return { prefixListId: 'pl-63a5400a' };
    case 'aws:elasticache/replicationGroup:ReplicationGroup':
      return { primaryEndpointAddress: `master.${name}.cache.amazonaws.com` };
    case 'aws:rds/instance:Instance':
      return { address: `${name}.rds.amazonaws.com` };
    case 'aws:ecr/repository:Repository':
      return { repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/${name}`, registryId: MOCK_ACCOUNT, name };
    case 'aws:s3/bucket:Bucket':
      return { bucket: `${name}-bucket`, arn: `arn:aws:s3:::${name}-bucket` };
    case 'docker:index/image:Image':
      return { repoDigest: `${String(inputs.imageName).replace(/:[^:/]+$/, '')}@sha256:${'ab'.repeat(32)}` };
    case 'random:index/randomPassword:RandomPassword':
      return { result: `generated-${name}` };
    case 'gcp:container/cluster:Cluster':
      return { name, endpoint: '203.0.113.10', masterAuth: { clusterCaCertificate: 'Y2x1c3Rlci1jYQ==' } };
    case 'gcp:redis/instance:Instance':
      return { host: '10.60.0.3', port: 6379, authString: 'auth-string' };
    case 'gcp:sql/databaseInstance:DatabaseInstance':
      return { name, privateIpAddress: '10.60.1.5' };
    case 'gcp:compute/globalAddress:GlobalAddress':
      return { name, address: '10.60.0.0' };
    case 'gcp:serviceaccount/account:Account':
      return { email: `${inputs.accountId}@${inputs.project}.iam.gserviceaccount.com` };
    case 'gcp:storage/hmacKey:HmacKey':
      return { accessId: 'GOOG1EACCESSID', secret: 'hmac-secret' };
  }
  if (type.startsWith('kubernetes:') && inputs.metadata) return { metadata: { ...inputs.metadata, name: inputs.metadata.name ?? name } };
  if (type.startsWith('aws:')) return { arn: `arn:aws:mock:us-east-1:${MOCK_ACCOUNT}:${name}`, name: inputs.name ?? name };
  return { name: inputs.name ?? name };
}

function callResult(token: string, inputs: Inputs): Inputs {
  switch (token) {
    case 'aws:index/getAvailabilityZones:getAvailabilityZones':
      return { names: ['us-east-1a', 'us-east-1b', 'us-east-1c'], zoneIds: ['use1-az1', 'use1-az2', 'use1-az4'] };
    case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
      return { proxyEndpoint: `https://${MOCK_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`, userName: 'AWS', password: 'ecr-login-token', authorizationToken: 'x' };
    case 'gcp:organizations/getClientConfig:getClientConfig':
      return { accessToken: 'gcp-access-token', project: 'p', region: 'r', zone: '', id: 'x' };
  }
  return inputs;
}

export interface Captured {
  resources: Registered[];
  all(type: string): Registered[];
  /** The one resource of a type (named `name`, when given); throws unless exactly one. */
  one(type: string, name?: string): Registered;
}

/** A bare component to parent a concern's resources, as the environment component does. */
export class TestParent extends pulumi.ComponentResource {
  constructor(name: string) {
    super('code-execution:test:Parent', name, {});
  }
}

/** Installs the mocks, runs `build` (which creates resources), and waits until every registration is answered. */
export async function capture(build: () => void): Promise<Captured> {
  const resources: Registered[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...outputsFor(args.type, args.name, args.inputs) } };
      },
      call: (args) => callResult(args.token, args.inputs),
    },
    'code-execution',
    'components',
    false,
  );
  build();
  await pulumi.runtime.disconnect();
  const all = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    all,
    one(type, name) {
      const found = all(type).filter((r) => name === undefined || r.name === name);
      if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ''}, found ${found.length}: ${found.map((r) => r.name).join(', ')}`);
      return found[0];
    },
  };
}
