// The gcp target's workers: the shared Kubernetes workload (kubernetesWorkload.ts: namespace, credentials Secret,
// Deployment of worker + runner sidecar or worker alone in kubernetes mode, HPA, PDB, NetworkPolicies) on the GKE
// cluster, wired to Memorystore, Cloud SQL and the code bucket through GCS's S3-compatible API, its HPA fed by
// Managed Prometheus through the metrics adapter (metrics.ts).
import type * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { Images } from '../images.js';
import { COMPONENT_WORKER, DEFAULT_NAMESPACE, labelsFor, type RedisReach } from '../kubernetesSpecs.js';
import { KubernetesWorkload } from '../kubernetesWorkload.js';
import { GCS_S3_ENDPOINT } from './codeBucket.js';
import { createWorkerPodMonitoring, managedPrometheusQueueMetric } from './metrics.js';

export interface WorkersArgs {
  readonly runnerMode: 'sidecar' | 'kubernetes';
  /** Replicas the HPA keeps between. */
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly queueDepthTarget: number;
  readonly maxConcurrentJobs: number;
  /** Millicores and MB; see KubernetesWorkloadArgs. */
  readonly workerCpuMillis: number;
  readonly workerMemoryMb: number;
  readonly runnerCpuMillis: number;
  readonly runnerMemoryMb: number;
  readonly workspaceSizeMb: number;
  /** The image references the pods run (Images' outputs). */
  readonly images: Pick<Images, 'workerImage' | 'runnerImage'>;
  readonly bucket: pulumi.Input<string>;
  /** The workers' HMAC key for GCS. */
  readonly hmacAccessId: pulumi.Input<string>;
  readonly hmacSecret: pulumi.Input<string>;
  readonly redisUrl: pulumi.Input<string>;
  readonly databaseUrl: pulumi.Input<string>;
  /** The database's server CA (DATABASE_CA_CERT) and the name its certificate carries (DATABASE_SERVER_NAME). */
  readonly databaseCaCert: pulumi.Input<string>;
  readonly databaseServerName: pulumi.Input<string>;
  /** Where Memorystore and Cloud SQL live: the only private range the workers may reach. */
  readonly privateServicesCidr: pulumi.Input<string>;
  /** Where Redis is (its address, or the cluster's endpoints): the workers' Redis egress. Defaults to the range above. */
  readonly redisReach?: pulumi.Input<RedisReach>;
  /** Redis is a Memorystore cluster (REDIS_CLUSTER=true). Defaults to false. */
  readonly redisCluster?: boolean;
  /** Where the pods may run: the nodes of the images' architecture. */
  readonly nodeSelector: Record<string, string>;
  /** The cluster's name: the HPA's metric is this cluster's. */
  readonly clusterName: pulumi.Input<string>;
  /** The cluster's Kubernetes provider. */
  readonly provider: k8s.Provider;
}

/**
 * Creates `<name>-workload` as a child of `parent`, deployed with the cluster's provider, and the PodMonitoring that
 * has Managed Prometheus scrape its pods' queue gauge for the HPA.
 */
export function createWorkers(name: string, args: WorkersArgs, parent: pulumi.Resource): KubernetesWorkload {
  const workload = new KubernetesWorkload(
    `${name}-workload`,
    {
      namespace: DEFAULT_NAMESPACE,
      queueMetric: pulumi.output(args.clusterName).apply((cluster) => managedPrometheusQueueMetric({ cluster, namespace: DEFAULT_NAMESPACE })),
      runnerMode: args.runnerMode,
      workerImage: args.images.workerImage,
      runnerImage: args.images.runnerImage,
      minReplicas: args.minWorkers,
      maxReplicas: args.maxWorkers,
      queueDepthTarget: args.queueDepthTarget,
      maxConcurrentJobs: args.maxConcurrentJobs,
      workerCpuMillis: args.workerCpuMillis,
      workerMemoryMb: args.workerMemoryMb,
      runnerCpuMillis: args.runnerCpuMillis,
      runnerMemoryMb: args.runnerMemoryMb,
      workspaceSizeMb: args.workspaceSizeMb,
      s3Bucket: args.bucket,
      s3Region: 'auto',
      s3Endpoint: GCS_S3_ENDPOINT,
      databaseCaCert: args.databaseCaCert,
      databaseServerName: args.databaseServerName,
      secrets: {
        REDIS_URL: args.redisUrl,
        DATABASE_URL: args.databaseUrl,
        AWS_ACCESS_KEY_ID: args.hmacAccessId,
        AWS_SECRET_ACCESS_KEY: args.hmacSecret,
      },
      privateServicesCidr: args.privateServicesCidr,
      redisReach: args.redisReach,
      redisCluster: args.redisCluster,
      nodeSelector: args.nodeSelector,
    },
    { parent, providers: { kubernetes: args.provider } },
  );
  createWorkerPodMonitoring(name, { namespace: workload.namespace, matchLabels: labelsFor(COMPONENT_WORKER) }, args.provider, parent);
  return workload;
}
