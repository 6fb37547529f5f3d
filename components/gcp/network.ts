// The gcp target's network: a VPC with one private subnet for the GKE nodes (Private Google Access, secondary ranges
// for pods and services) and a private services range peered with Google's, where Memorystore and Cloud SQL live.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

/** The nodes' subnet and its secondary ranges (names as the cluster's ipAllocationPolicy refers to them). */
export const NODE_SUBNET = {
  cidr: '10.50.0.0/20',
  pods: { rangeName: 'pods', ipCidrRange: '10.52.0.0/14' },
  services: { rangeName: 'services', ipCidrRange: '10.56.0.0/20' },
} as const;

/** Prefix length of the range reserved for Google's private services (Memorystore, Cloud SQL). */
export const PRIVATE_SERVICES_PREFIX_LENGTH = 16;

export interface NetworkArgs {
  readonly project: string;
  readonly region: string;
  /** What must exist first: the enabled APIs. */
  readonly dependsOn: pulumi.Resource[];
}

export interface Network {
  readonly network: gcp.compute.Network;
  readonly subnet: gcp.compute.Subnetwork;
  /** The service networking peering Memorystore and Cloud SQL are created after. */
  readonly peering: gcp.servicenetworking.Connection;
  /** The private services range as a CIDR, e.g. 10.60.0.0/16: what the workers may reach Redis and SQL in. */
  readonly privateServicesCidr: pulumi.Output<string>;
}

/** Creates `<name>-vpc`, `<name>-nodes` and `<name>-private-services` as children of `parent`. */
export function createNetwork(name: string, args: NetworkArgs, parent: pulumi.Resource): Network {
  const child = { parent };
  const network = new gcp.compute.Network(`${name}-vpc`, { project: args.project, autoCreateSubnetworks: false }, { parent, dependsOn: args.dependsOn });
  const subnet = new gcp.compute.Subnetwork(
    `${name}-nodes`,
    {
      project: args.project,
      region: args.region,
      network: network.id,
      ipCidrRange: NODE_SUBNET.cidr,
      // Nodes have no external IPs; Google APIs (Artifact Registry, GCS) are reached privately.
      privateIpGoogleAccess: true,
      secondaryIpRanges: [{ ...NODE_SUBNET.pods }, { ...NODE_SUBNET.services }],
    },
    child,
  );
  const privateRange = new gcp.compute.GlobalAddress(
    `${name}-private-services`,
    { project: args.project, network: network.id, purpose: 'VPC_PEERING', addressType: 'INTERNAL', prefixLength: PRIVATE_SERVICES_PREFIX_LENGTH },
    child,
  );
  const peering = new gcp.servicenetworking.Connection(
    `${name}-private-services`,
    { network: network.id, service: 'servicenetworking.googleapis.com', reservedPeeringRanges: [privateRange.name] },
    child,
  );
  const privateServicesCidr = pulumi.interpolate`${privateRange.address}/${privateRange.prefixLength}`;
  return { network, subnet, peering, privateServicesCidr };
}
