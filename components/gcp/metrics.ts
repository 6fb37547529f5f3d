// The gcp target's path from the workers' queue gauge to their HPA:
//   worker pods' /metrics (redis_stream_lag, the same group-wide number from every pod)
//     -> a PodMonitoring: Google Managed Prometheus (on by default on Autopilot) scrapes them into Cloud Monitoring as
//        prometheus.googleapis.com/redis_stream_lag/gauge, one series per pod (resource prometheus_target)
//     -> the Custom Metrics Stackdriver Adapter (deployed here, reading Cloud Monitoring as a service account with
//        monitoring.viewer through Workload Identity) serves it on external.metrics.k8s.io; its `reducer` selector
//        folds the pods' series into one (REDUCE_MAX: they all carry the backlog)
//     -> the HPA's External metric with an AverageValue target: ceil(backlog / queueDepthTarget) replicas.
// Without the reducer the adapter would return one series per pod and the HPA would add them up: N pods would see
// N × the backlog, and every added pod would ask for more.
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { ExternalQueueMetric } from '../kubernetesSpecs.js';
import { PROMETHEUS_QUEUE_GAUGE } from '../workerEnv.js';
import { serviceAccountId } from './serviceAccountId.js';

/** The adapter's image (GKE's release, v0.13.1 or later reads Managed Prometheus metrics). */
export const ADAPTER_IMAGE = 'gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.15.1-gke.0';
export const ADAPTER_NAMESPACE = 'custom-metrics';
export const ADAPTER_NAME = 'custom-metrics-stackdriver-adapter';
/** How often Managed Prometheus scrapes the workers. */
export const SCRAPE_INTERVAL = '30s';

/**
 * The backlog as the adapter serves it to the HPA: the queue gauge of this cluster's worker namespace, for the
 * stack's stream and group, the pods' series reduced to one.
 */
export function managedPrometheusQueueMetric(input: { cluster: string; namespace: string }): ExternalQueueMetric {
  return {
    // The adapter's external metric names are Cloud Monitoring's metric types with `|` for `/`.
    name: `prometheus.googleapis.com|${PROMETHEUS_QUEUE_GAUGE.name}|gauge`,
    selector: {
      'resource.labels.cluster': input.cluster,
      'resource.labels.namespace': input.namespace,
      'metric.labels.stream': PROMETHEUS_QUEUE_GAUGE.labels.stream,
      'metric.labels.group': PROMETHEUS_QUEUE_GAUGE.labels.group,
      reducer: 'REDUCE_MAX',
    },
  };
}

/** The PodMonitoring spec that has Managed Prometheus scrape the pods of `matchLabels` on their `metrics` port. */
export function workerPodMonitoringSpec(matchLabels: Record<string, string>): Record<string, unknown> {
  return { selector: { matchLabels: { ...matchLabels } }, endpoints: [{ port: 'metrics', path: '/metrics', interval: SCRAPE_INTERVAL }] };
}

/** Creates `<name>-workers-metrics`, the PodMonitoring of the worker pods in `namespace`, with the cluster's provider. */
export function createWorkerPodMonitoring(
  name: string,
  args: { namespace: pulumi.Input<string>; matchLabels: Record<string, string> },
  provider: k8s.Provider,
  parent: pulumi.Resource,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    `${name}-workers-metrics`,
    {
      apiVersion: 'monitoring.googleapis.com/v1',
      kind: 'PodMonitoring',
      metadata: { name: 'code-execution-workers', namespace: args.namespace, labels: args.matchLabels },
      spec: workerPodMonitoringSpec(args.matchLabels),
    },
    { parent, provider },
  );
}

export interface MetricsAdapterArgs {
  readonly project: string;
  /** The cluster: Workload Identity's pool exists once it does. */
  readonly cluster: gcp.container.Cluster;
  readonly provider: k8s.Provider;
}

/**
 * Deploys the Custom Metrics Stackdriver Adapter in `custom-metrics` (as its production manifest does: RBAC to
 * delegate authentication and read pods and nodes, the APIServices of custom.metrics.k8s.io and
 * external.metrics.k8s.io, the HPA controller allowed to read external metrics), running as `<name>-metrics`, a
 * Google service account that may only read Cloud Monitoring.
 */
export function createMetricsAdapter(name: string, args: MetricsAdapterArgs, parent: pulumi.Resource): void {
  const child = { parent };
  const onCluster = { parent, provider: args.provider };
  const account = new gcp.serviceaccount.Account(
    `${name}-metrics`,
    { project: args.project, accountId: serviceAccountId(name, 'metrics'), displayName: 'code-execution metrics adapter (reads Cloud Monitoring for the HPA)' },
    child,
  );
  new gcp.projects.IAMMember(`${name}-metrics-monitoring-viewer`, { project: args.project, role: 'roles/monitoring.viewer', member: pulumi.interpolate`serviceAccount:${account.email}` }, child);
  new gcp.serviceaccount.IAMMember(
    `${name}-metrics-workload-identity`,
    {
      serviceAccountId: account.name,
      role: 'roles/iam.workloadIdentityUser',
      member: `serviceAccount:${args.project}.svc.id.goog[${ADAPTER_NAMESPACE}/${ADAPTER_NAME}]`,
    },
    { parent, dependsOn: [args.cluster] },
  );

  const labels = { 'k8s-app': ADAPTER_NAME };
  const namespace = new k8s.core.v1.Namespace(`${name}-metrics-adapter`, { metadata: { name: ADAPTER_NAMESPACE } }, onCluster);
  const ns = namespace.metadata.name;
  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${name}-metrics-adapter`,
    { metadata: { name: ADAPTER_NAME, namespace: ns, annotations: { 'iam.gke.io/gcp-service-account': account.email } } },
    onCluster,
  );
  const subject = [{ kind: 'ServiceAccount', name: ADAPTER_NAME, namespace: ADAPTER_NAMESPACE }];
  new k8s.rbac.v1.ClusterRoleBinding(
    `${name}-metrics-auth-delegator`,
    { metadata: { name: `${ADAPTER_NAMESPACE}:system:auth-delegator` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' }, subjects: subject },
    onCluster,
  );
  new k8s.rbac.v1.RoleBinding(
    `${name}-metrics-auth-reader`,
    {
      metadata: { name: `${ADAPTER_NAMESPACE}-auth-reader`, namespace: 'kube-system' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: subject,
    },
    onCluster,
  );
  const reader = new k8s.rbac.v1.ClusterRole(
    `${name}-metrics-resource-reader`,
    { metadata: { name: `${ADAPTER_NAMESPACE}-resource-reader` }, rules: [{ apiGroups: [''], resources: ['pods', 'nodes', 'nodes/stats'], verbs: ['get', 'list', 'watch'] }] },
    onCluster,
  );
  new k8s.rbac.v1.ClusterRoleBinding(
    `${name}-metrics-resource-reader`,
    { metadata: { name: `${ADAPTER_NAMESPACE}-resource-reader` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: reader.metadata.name }, subjects: subject },
    onCluster,
  );
  new k8s.apps.v1.Deployment(
    `${name}-metrics-adapter`,
    {
      metadata: { name: ADAPTER_NAME, namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: serviceAccount.metadata.name,
            containers: [
              {
                name: 'adapter',
                image: ADAPTER_IMAGE,
                command: ['/adapter', '--use-new-resource-model=true', '--fallback-for-container-metrics=true'],
                resources: { requests: { cpu: '250m', memory: '400Mi' }, limits: { cpu: '250m', memory: '400Mi' } },
                // No securityContext beyond the upstream manifest's: the adapter writes its self-signed serving
                // certificate under its working directory, which a read-only root would refuse.
              },
            ],
          },
        },
      },
    },
    onCluster,
  );
  const service = new k8s.core.v1.Service(
    `${name}-metrics-adapter`,
    { metadata: { name: ADAPTER_NAME, namespace: ns, labels }, spec: { type: 'ClusterIP', selector: labels, ports: [{ port: 443, targetPort: 443, protocol: 'TCP' }] } },
    onCluster,
  );
  const apis = [
    { group: 'custom.metrics.k8s.io', version: 'v1beta1', versionPriority: 100 },
    { group: 'custom.metrics.k8s.io', version: 'v1beta2', versionPriority: 200 },
    { group: 'external.metrics.k8s.io', version: 'v1beta1', versionPriority: 100 },
  ];
  for (const api of apis) {
    new k8s.apiregistration.v1.APIService(
      `${name}-metrics-${api.group.split('.')[0]}-${api.version}`,
      {
        metadata: { name: `${api.version}.${api.group}` },
        spec: {
          group: api.group,
          version: api.version,
          groupPriorityMinimum: 100,
          versionPriority: api.versionPriority,
          // The adapter serves a self-signed certificate, as its production manifest has it.
          insecureSkipTLSVerify: true,
          service: { name: service.metadata.name, namespace: ns },
        },
      },
      onCluster,
    );
  }
  const externalReader = new k8s.rbac.v1.ClusterRole(
    `${name}-metrics-external-reader`,
    { metadata: { name: 'external-metrics-reader' }, rules: [{ apiGroups: ['external.metrics.k8s.io'], resources: ['*'], verbs: ['list', 'get', 'watch'] }] },
    onCluster,
  );
  new k8s.rbac.v1.ClusterRoleBinding(
    `${name}-metrics-external-reader`,
    {
      metadata: { name: 'external-metrics-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: externalReader.metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }],
    },
    onCluster,
  );
}
