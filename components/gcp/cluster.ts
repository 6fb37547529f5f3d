// The gcp target's cluster: GKE Autopilot with private nodes on the network's subnet, its nodes running as a service
// account of their own, and the Kubernetes provider the workload is deployed with (a kubeconfig from the cluster's
// endpoint and CA, see gkeKubeconfig.ts).
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { gkeKubeconfig } from '../gkeKubeconfig.js';
import type { CloudImagePlatform } from '../stackConfig.js';
import { NODE_SUBNET } from './network.js';
import { serviceAccountId } from './serviceAccountId.js';

export interface ClusterArgs {
  readonly project: string;
  readonly region: string;
  readonly network: pulumi.Input<string>;
  readonly subnetwork: pulumi.Input<string>;
  readonly labels: Record<string, string>;
}

export interface Cluster {
  readonly cluster: gcp.container.Cluster;
  /** `serviceAccount:<email>` of the nodes' account: what may pull the stack's images (registry.ts grants it). */
  readonly nodeMember: pulumi.Output<string>;
  /** Secret: the kubeconfig (no token in it; gke-gcloud-auth-plugin authenticates). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
}

/**
 * What the nodes' account may do in the project: GKE's documented minimum for a node (write logs and metrics, read
 * metrics, write resource metadata). Pulling images is granted on the stack's repository alone (registry.ts).
 */
export const NODE_ROLES = ['roles/logging.logWriter', 'roles/monitoring.metricWriter', 'roles/monitoring.viewer', 'roles/stackdriver.resourceMetadata.writer'] as const;

/**
 * The nodeSelector of pods whose images are built for `platform`: its architecture, and for arm64 a compute class
 * that has Arm nodes (Autopilot places Arm pods only in such a class, Scale-Out here).
 */
export function autopilotNodeSelector(platform: CloudImagePlatform): Record<string, string> {
  return platform === 'linux/arm64'
    ? { 'kubernetes.io/arch': 'arm64', 'cloud.google.com/compute-class': 'Scale-Out' }
    : { 'kubernetes.io/arch': 'amd64' };
}

/**
 * Creates the `<name>-nodes` account and its roles, the `<name>` cluster whose nodes run as it, and the `<name>-gke`
 * provider, as children of `parent`. Not the default compute account: projects created since May 2024 give it no
 * roles, so nodes could neither pull images nor log.
 */
export function createCluster(name: string, args: ClusterArgs, parent: pulumi.Resource): Cluster {
  const child = { parent };
  const nodes = new gcp.serviceaccount.Account(
    `${name}-nodes`,
    { project: args.project, accountId: serviceAccountId(name, 'nodes'), displayName: 'code-execution GKE nodes (logs, metrics, image pulls)' },
    child,
  );
  const nodeMember = pulumi.interpolate`serviceAccount:${nodes.email}`;
  const grants = NODE_ROLES.map(
    (role) => new gcp.projects.IAMMember(`${name}-nodes-${role.split('/')[1].replace(/\./g, '-')}`, { project: args.project, role, member: nodeMember }, child),
  );
  const cluster = new gcp.container.Cluster(
    `${name}`,
    {
      project: args.project,
      location: args.region,
      enableAutopilot: true,
      network: args.network,
      subnetwork: args.subnetwork,
      ipAllocationPolicy: { clusterSecondaryRangeName: NODE_SUBNET.pods.rangeName, servicesSecondaryRangeName: NODE_SUBNET.services.rangeName },
      privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false },
      releaseChannel: { channel: 'REGULAR' },
      deletionProtection: false,
      resourceLabels: args.labels,
      // Autopilot's nodes run as the auto-provisioning defaults' account (the scope is the whole platform: IAM
      // roles, not scopes, bound what the account may do).
      clusterAutoscaling: { autoProvisioningDefaults: { serviceAccount: nodes.email, oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'] } },
    },
    { parent, dependsOn: grants },
  );
  const kubeconfig = pulumi.secret(
    pulumi
      .all([cluster.name, cluster.endpoint, cluster.masterAuth])
      .apply(([clusterName, endpoint, auth]) => gkeKubeconfig({ name: clusterName, endpoint, clusterCaCertificate: auth.clusterCaCertificate ?? '' })),
  );
  const provider = new k8s.Provider(`${name}-gke`, { kubeconfig }, child);
  return { cluster, nodeMember, kubeconfig, provider };
}
