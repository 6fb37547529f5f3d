// The aws target's network: a VPC with two private subnets and no route to the internet (no internet gateway, no
// NAT), the AWS services the tasks need through VPC endpoints, and four security groups that start empty and get
// exactly the rules of securityGroupRules() (awsPolicies.ts). With a public API, also two public subnets behind an
// internet gateway, for its load balancer alone (no task runs in them).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import {
  INTERFACE_ENDPOINT_SERVICES,
  securityGroupRules,
  type ApiSecurityGroupName,
  type SecurityGroupName,
  type SecurityGroupRule,
} from '../awsPolicies.js';

export interface NetworkArgs {
  readonly region: string;
  /** The VPC's address range: a /16 (two /20 private subnets are cut from its start). */
  readonly vpcCidr: string;
  /** Two public subnets and an internet gateway, for an internet-facing load balancer. Defaults to false. */
  readonly publicSubnets?: boolean;
  readonly tags: Record<string, string>;
}

export interface Network {
  readonly vpc: aws.ec2.Vpc;
  readonly subnetIds: pulumi.Output<string>[];
  /** Empty unless `publicSubnets`. */
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly securityGroups: Record<SecurityGroupName, aws.ec2.SecurityGroup>;
  /** The S3 gateway endpoint's prefix list (the `{ prefixList: 's3' }` peer of the rules). */
  readonly s3PrefixListId: pulumi.Output<string>;
}

/** What each security group is for (its AWS description). */
export const SECURITY_GROUP_DESCRIPTIONS: Record<SecurityGroupName, string> = {
  worker: 'code-execution workers (and their runner sidecars)',
  redis: 'code-execution Redis',
  database: 'code-execution PostgreSQL',
  endpoints: 'code-execution VPC interface endpoints',
};

/** The first two octets of a /16. */
function slash16(vpcCidr: string): string {
  const m = /^(\d+\.\d+)\.0\.0\/16$/.exec(vpcCidr);
  if (!m) throw new Error(`vpcCidr must be a /16 like 10.40.0.0/16, got ${JSON.stringify(vpcCidr)}`);
  return m[1];
}

/** Two private /20 subnets at the start of a /16. */
export function privateSubnetCidrs(vpcCidr: string): string[] {
  const prefix = slash16(vpcCidr);
  return [`${prefix}.0.0/20`, `${prefix}.16.0/20`];
}

/** Two public /24 subnets right after the private ones (a load balancer needs few addresses). */
export function publicSubnetCidrs(vpcCidr: string): string[] {
  const prefix = slash16(vpcCidr);
  return [`${prefix}.32.0/24`, `${prefix}.33.0/24`];
}

/** The resource name of an interface endpoint: `ecr.api` becomes `<name>-ecr-api`. */
export function interfaceEndpointName(name: string, service: string): string {
  return `${name}-${service.replace('.', '-')}`;
}

/** A rule's resource name, unique per group, direction, port and peer (e.g. `<name>-worker-egress-6379-redis`). */
export function securityGroupRuleName(name: string, rule: SecurityGroupRule): string {
  const peer = 'group' in rule.peer ? rule.peer.group : 'prefixList' in rule.peer ? rule.peer.prefixList : rule.peer.label;
  return `${name}-${rule.group}-${rule.direction}-${rule.port}-${peer}`;
}

/** The groups a list of rules names, by name. */
export type SecurityGroups = Partial<Record<SecurityGroupName | ApiSecurityGroupName, Pick<aws.ec2.SecurityGroup, 'id'>>>;

/** Creates each rule (TCP, one port) as a child of `parent`; every group the rules name must be in `groups`. */
export function createSecurityGroupRules(
  name: string,
  rules: SecurityGroupRule[],
  groups: SecurityGroups,
  s3PrefixListId: pulumi.Input<string>,
  parent: pulumi.Resource,
): void {
  const id = (group: SecurityGroupName | ApiSecurityGroupName) => {
    const found = groups[group];
    if (!found) throw new Error(`createSecurityGroupRules ${name}: no security group ${group} for its rules`);
    return found.id;
  };
  for (const rule of rules) {
    const peer =
      'group' in rule.peer ? { referencedSecurityGroupId: id(rule.peer.group) } : 'prefixList' in rule.peer ? { prefixListId: s3PrefixListId } : { cidrIpv4: rule.peer.cidr };
    const ruleArgs = { securityGroupId: id(rule.group), ipProtocol: 'tcp', fromPort: rule.port, toPort: rule.port, description: rule.description, ...peer };
    if (rule.direction === 'egress') new aws.vpc.SecurityGroupEgressRule(securityGroupRuleName(name, rule), ruleArgs, { parent });
    else new aws.vpc.SecurityGroupIngressRule(securityGroupRuleName(name, rule), ruleArgs, { parent });
  }
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

  createSecurityGroupRules(name, securityGroupRules(), securityGroups, s3Endpoint.prefixListId, parent);

  return { vpc, subnetIds, publicSubnetIds: args.publicSubnets ? createPublicSubnets(name, args, vpc, zones, parent) : [], securityGroups, s3PrefixListId: s3Endpoint.prefixListId };
}

/** The public subnets, their route to an internet gateway; for the API's load balancer only. */
function createPublicSubnets(
  name: string,
  args: NetworkArgs,
  vpc: aws.ec2.Vpc,
  zones: pulumi.Output<aws.GetAvailabilityZonesResult>,
  parent: pulumi.Resource,
): pulumi.Output<string>[] {
  const child = { parent };
  const { tags } = args;
  const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags }, child);
  const routeTable = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }], tags }, child);
  return publicSubnetCidrs(args.vpcCidr).map((cidrBlock, i) => {
    const subnet = new aws.ec2.Subnet(
      `${name}-public-${i}`,
      { vpcId: vpc.id, cidrBlock, availabilityZone: zones.names[i], mapPublicIpOnLaunch: false, tags: { ...tags, tier: 'public' } },
      child,
    );
    new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: routeTable.id }, child);
    return subnet.id;
  });
}
