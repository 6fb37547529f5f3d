// The gcp target's cluster: GKE Autopilot with private nodes on the network's subnet, and the Kubernetes provider
// the workload is deployed with (a kubeconfig from the cluster's endpoint and CA, see gkeKubeconfig.ts).
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { gkeKubeconfig } from '../gkeKubeconfig.js';
import { NODE_SUBNET } from './network.js';

export interface ClusterArgs {
  readonly project: string;
  readonly region: string;
  readonly network: pulumi.Input<string>;
  readonly subnetwork: pulumi.Input<string>;
  readonly labels: Record<string, string>;
}

export interface Cluster {
  readonly cluster: gcp.container.Cluster;
  /** Secret: the kubeconfig (no token in it; gke-gcloud-auth-plugin authenticates). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
}

/** Creates the `<name>` cluster and the `<name>-gke` provider as children of `parent`. */
export function createCluster(name: string, args: ClusterArgs, parent: pulumi.Resource): Cluster {
  const child = { parent };
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
    },
    child,
  );
  const kubeconfig = pulumi.secret(
    pulumi
      .all([cluster.name, cluster.endpoint, cluster.masterAuth])
      .apply(([clusterName, endpoint, auth]) => gkeKubeconfig({ name: clusterName, endpoint, clusterCaCertificate: auth.clusterCaCertificate ?? '' })),
  );
  const provider = new k8s.Provider(`${name}-gke`, { kubeconfig }, child);
  return { cluster, kubeconfig, provider };
}
