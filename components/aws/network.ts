// The aws target's network: a VPC with two private subnets and no route to the internet (no internet gateway, no
// NAT), the AWS services the tasks need through VPC endpoints, and four security groups that start empty and get
// exactly the rules of securityGroupRules() (awsPolicies.ts).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { INTERFACE_ENDPOINT_SERVICES, securityGroupRules, type SecurityGroupName, type SecurityGroupRule } from '../awsPolicies.js';

export interface NetworkArgs {
  readonly region: string;
  /** The VPC's address range: a /16 (two /20 private subnets are cut from its start). */
  readonly vpcCidr: string;
  readonly tags: Record<string, string>;
}

export interface Network {
  readonly vpc: aws.ec2.Vpc;
  readonly subnetIds: pulumi.Output<string>[];
  readonly securityGroups: Record<SecurityGroupName, aws.ec2.SecurityGroup>;
}

/** What each security group is for (its AWS description). */
export const SECURITY_GROUP_DESCRIPTIONS: Record<SecurityGroupName, string> = {
  worker: 'code-execution workers (and their runner sidecars)',
  redis: 'code-execution Redis',
  database: 'code-execution PostgreSQL',
  endpoints: 'code-execution VPC interface endpoints',
};

/** Two private /20 subnets at the start of a /16. */
export function privateSubnetCidrs(vpcCidr: string): string[] {
  const m = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(vpcCidr);
  if (!m) throw new Error(`vpcCidr must be a /16 like 10.40.0.0/16, got ${JSON.stringify(vpcCidr)}`);
  return [`${m[1]}.${m[2]}.0.0/20`, `${m[1]}.${m[2]}.16.0/20`];
}

/** The resource name of an interface endpoint: `ecr.api` becomes `<name>-ecr-api`. */
export function interfaceEndpointName(name: string, service: string): string {
  return `${name}-${service.replace('.', '-')}`;
}

/** A rule's resource name, unique per group, direction, port and peer (e.g. `<name>-worker-egress-6379-redis`). */
export function securityGroupRuleName(name: string, rule: SecurityGroupRule): string {
  return `${name}-${rule.group}-${rule.direction}-${rule.port}-${'group' in rule.peer ? rule.peer.group : rule.peer.prefixList}`;
}

/** Creates the network as children of `parent`, named after `name`. */
export function createNetwork(name: string, args: NetworkArgs, parent: pulumi.Resource): Network {
  const child = { parent };
  const { tags } = args;
  const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags }, child);
  const zones = aws.getAvailabilityZonesOutput({ state: 'available' }, child);
  const subnets = privateSubnetCidrs(args.vpcCidr).map(
    (cidrBlock, i) =>
      new aws.ec2.Subnet(
        `${name}-private-${i}`,
        { vpcId: vpc.id, cidrBlock, availabilityZone: zones.names[i], mapPublicIpOnLaunch: false, tags: { ...tags, tier: 'private' } },
        child,
      ),
  );
  const subnetIds = subnets.map((s) => s.id);
  const routeTable = new aws.ec2.RouteTable(`${name}-private`, { vpcId: vpc.id, tags }, child);
  subnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: s.id, routeTableId: routeTable.id }, child));

  const securityGroups = {} as Record<SecurityGroupName, aws.ec2.SecurityGroup>;
  for (const [group, description] of Object.entries(SECURITY_GROUP_DESCRIPTIONS) as [SecurityGroupName, string][]) {
    securityGroups[group] = new aws.ec2.SecurityGroup(`${name}-${group}`, { vpcId: vpc.id, description, tags }, child);
  }

  const s3Endpoint = new aws.ec2.VpcEndpoint(
    `${name}-s3`,
    { vpcId: vpc.id, serviceName: `com.amazonaws.${args.region}.s3`, vpcEndpointType: 'Gateway', routeTableIds: [routeTable.id], tags },
    child,
  );
  for (const service of INTERFACE_ENDPOINT_SERVICES) {
    new aws.ec2.VpcEndpoint(
      interfaceEndpointName(name, service),
      {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${args.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds,
        securityGroupIds: [securityGroups.endpoints.id],
        tags,
      },
      child,
    );
  }

  for (const rule of securityGroupRules()) {
    const peer = 'group' in rule.peer ? { referencedSecurityGroupId: securityGroups[rule.peer.group].id } : { prefixListId: s3Endpoint.prefixListId };
    const ruleArgs = {
      securityGroupId: securityGroups[rule.group].id,
      ipProtocol: 'tcp',
      fromPort: rule.port,
      toPort: rule.port,
      description: rule.description,
      ...peer,
    };
    if (rule.direction === 'egress') new aws.vpc.SecurityGroupEgressRule(securityGroupRuleName(name, rule), ruleArgs, child);
    else new aws.vpc.SecurityGroupIngressRule(securityGroupRuleName(name, rule), ruleArgs, child);
  }

  return { vpc, subnetIds, securityGroups };
}
