// A kubeconfig for a GKE cluster, built from its endpoint and CA: what the Kubernetes provider of the gcp target
// connects with. Pure, so it is tested without mocks. Credentials come from gke-gcloud-auth-plugin at run time
// (the way `gcloud container clusters get-credentials` sets it up), so the stack stores no token.

export interface GkeKubeconfigInput {
  /** Cluster name, used for the context, cluster and user entries. */
  name: string;
  /** The cluster endpoint (an IP or host name, without scheme). */
  endpoint: string;
  /** Base64 PEM of the cluster CA (`masterAuth.clusterCaCertificate`). */
  clusterCaCertificate: string;
}

/** JSON, which every kubeconfig reader accepts (YAML is a superset). */
export function gkeKubeconfig(input: GkeKubeconfigInput): string {
  if (!input.endpoint) throw new Error('gkeKubeconfig: endpoint is empty (is the cluster created?)');
  if (!input.clusterCaCertificate) throw new Error('gkeKubeconfig: clusterCaCertificate is empty');
  const name = input.name;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: `https://${input.endpoint}`, 'certificate-authority-data': input.clusterCaCertificate } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'gke-gcloud-auth-plugin',
            installHint: 'Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin',
            provideClusterInfo: true,
            interactiveMode: 'Never',
          },
        },
      },
    ],
  });
}
