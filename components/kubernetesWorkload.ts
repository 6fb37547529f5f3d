// code-execution:kubernetes:Workload — the workers on any Kubernetes cluster (GKE here, EKS or another just as well):
// namespace, credentials Secret, Deployment (worker + runner sidecar, or worker alone creating runner Jobs),
// PodDisruptionBudget, autoscaler on the backlog (an External metric the cluster's metrics adapter serves), network
// policies, and in kubernetes mode the worker's ServiceAccount and Role. Pass the cluster's provider through
// `providers` in the options.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  autoscalerSpec,
  COMPONENT_RUNNER,
  COMPONENT_WORKER,
  DEFAULT_NAMESPACE,
  labelsFor,
  runnerJobRoleRules,
  type ExternalQueueMetric,
  type RedisReach,
  runnerNetworkPolicySpec,
  WORKER_SERVICE_ACCOUNT,
  workerNetworkPolicySpec,
  workerPodSpec,
} from './kubernetesSpecs.js';
import { defaultMaxConcurrentJobs, runnerSidecarMemory } from './runnerSizing.js';
import { assertNoSecretsInPlainEnv, workerEnvironment } from './workerEnv.js';

export interface KubernetesWorkloadArgs {
  /** sidecar: a runner container next to each worker; kubernetes: the worker starts a runner Job per run. */
  readonly runnerMode: 'sidecar' | 'kubernetes';
  readonly workerImage: pulumi.Input<string>;
  readonly runnerImage: pulumi.Input<string>;
  /** Defaults to code-execution. */
  readonly namespace?: string;
  /** Replicas the autoscaler keeps between. Default to 2 and 50. */
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  /** Pending jobs per worker before the autoscaler adds one. Defaults to 10. */
  readonly queueDepthTarget?: number;
  /**
   * The backlog as the cluster's external metrics API serves it (one group-wide number; see ExternalQueueMetric).
   * Required: an HPA on a metric nothing serves never scales (GKE: components/gcp/metrics.ts).
   */
  readonly queueMetric: pulumi.Input<ExternalQueueMetric>;
  /** Defaults to 1 in sidecar mode (the sidecar runs one job at a time), 2 in kubernetes mode. */
  readonly maxConcurrentJobs?: number;
  /**
   * Millicores and MB. Default to 500/512 (worker) and 1000/2048 (runner sidecar). The runner sidecar's memory must
   * hold the largest job plus overheads (runnerSidecarMemory); the kubernetes mode sizes each runner Job from its job.
   */
  readonly workerCpuMillis?: number;
  readonly workerMemoryMb?: number;
  readonly runnerCpuMillis?: number;
  readonly runnerMemoryMb?: number;
  /** Size of the memory-backed /shared and of the runner sidecar's /workspace, in MB. Defaults to 512. */
  readonly workspaceSizeMb?: number;
  /** The code bucket, its region and (for non-AWS stores) its S3 endpoint. */
  readonly s3Bucket: pulumi.Input<string>;
  readonly s3Region: pulumi.Input<string>;
  readonly s3Endpoint?: pulumi.Input<string>;
  /** Credentials, by variable name (REDIS_URL, DATABASE_URL, ...): stored in a Secret, read through secretKeyRef. */
  readonly secrets: Record<string, pulumi.Input<string>>;
  /** Where Redis and PostgreSQL live (e.g. GCP's private services range); limits the workers' egress to them. */
  readonly privateServicesCidr?: pulumi.Input<string>;
  /** Where Redis is, when known more narrowly (its address, or a Redis Cluster's endpoints); limits Redis egress to it. */
  readonly redisReach?: pulumi.Input<RedisReach>;
  /** REDIS_URL names a node of a Redis Cluster (REDIS_CLUSTER=true). Defaults to false. */
  readonly redisCluster?: boolean;
  /** The database's CA (DATABASE_CA_CERT) and the name its certificate carries (DATABASE_SERVER_NAME), if DATABASE_URL is set. */
  readonly databaseCaCert?: pulumi.Input<string>;
  readonly databaseServerName?: pulumi.Input<string>;
  /** Where the worker pods may run (e.g. the nodes of the images' architecture). Defaults to anywhere. */
  readonly nodeSelector?: Record<string, string>;
}

export class KubernetesWorkload extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly deploymentName: pulumi.Output<string>;

  constructor(name: string, args: KubernetesWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:kubernetes:Workload', name, {}, opts);
    // Fields passed as undefined (a caller forwarding its own optional args) take the default too.
    const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as KubernetesWorkloadArgs;
    const a = {
      namespace: DEFAULT_NAMESPACE,
      minReplicas: 2,
      maxReplicas: 50,
      queueDepthTarget: 10,
      maxConcurrentJobs: defaultMaxConcurrentJobs(args.runnerMode),
      workerCpuMillis: 500,
      workerMemoryMb: 512,
      runnerCpuMillis: 1000,
      runnerMemoryMb: 2048,
      workspaceSizeMb: 512,
      ...given,
    };
    if (a.runnerMode !== 'sidecar' && a.runnerMode !== 'kubernetes') {
      throw new Error(`KubernetesWorkload ${name}: runnerMode must be sidecar or kubernetes, got ${JSON.stringify(a.runnerMode)}`);
    }
    if (a.runnerMode === 'sidecar') {
      const need = runnerSidecarMemory({ memoryBackedWorkspaceMb: a.workspaceSizeMb });
      if (a.runnerMemoryMb < need.minimumMb) {
        throw new Error(`KubernetesWorkload ${name}: runnerMemoryMb (${a.runnerMemoryMb}) is below what the runner sidecar needs: ${need.explanation}`);
      }
    }
    if (a.minReplicas < 1 || a.minReplicas > a.maxReplicas) {
      throw new Error(`KubernetesWorkload ${name}: minReplicas (${a.minReplicas}) must be >= 1 and <= maxReplicas (${a.maxReplicas})`);
    }
    if (!Object.keys(a.secrets).includes('REDIS_URL')) throw new Error(`KubernetesWorkload ${name}: secrets must hold REDIS_URL`);
    const child = { parent: this };

    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: a.namespace,
          // baseline, not restricted: the runner sidecar and the kubernetes mode's runner Jobs run as uid 0 with a few
          // added capabilities (to give each job its own uid), which baseline admits and restricted refuses. baseline
          // still refuses privileged pods, host namespaces, ports and paths, and any added capability but Docker's
          // defaults (NET_RAW excepted).
          // The workers meet restricted; auditing against it records any pod that falls short without refusing it
          // (no warn: it would answer every runner Job the worker creates with a warning).
          labels: {
            'pod-security.kubernetes.io/enforce': 'baseline',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/audit': 'restricted',
            'pod-security.kubernetes.io/audit-version': 'latest',
          },
        },
      },
      child,
    );
    const ns = namespace.metadata.name;
    const meta = (suffix: string, component = COMPONENT_WORKER) => ({ name: `${a.namespace}-${suffix}`, namespace: ns, labels: labelsFor(component) });

    const secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      { metadata: meta('credentials'), type: 'Opaque', stringData: pulumi.secret(pulumi.output(a.secrets)) },
      child,
    );

    const serviceAccount =
      a.runnerMode === 'kubernetes'
        ? new k8s.core.v1.ServiceAccount(`${name}-worker-sa`, { metadata: { ...meta('worker'), name: WORKER_SERVICE_ACCOUNT } }, child)
        : undefined;
    const rbac: pulumi.Resource[] = [];
    if (serviceAccount) {
      const role = new k8s.rbac.v1.Role(`${name}-runner-jobs`, { metadata: meta('runner-jobs'), rules: runnerJobRoleRules() }, child);
      rbac.push(
        role,
        new k8s.rbac.v1.RoleBinding(
          `${name}-runner-jobs`,
          {
            metadata: meta('runner-jobs'),
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
            subjects: [{ kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: ns }],
          },
          child,
        ),
      );
    }

    const labels = labelsFor(COMPONENT_WORKER);
    const podSpec = pulumi
      .all([a.workerImage, a.runnerImage, a.s3Bucket, a.s3Region, a.s3Endpoint, ns, secret.metadata.name, pulumi.all([a.databaseCaCert, a.databaseServerName])])
      .apply(([workerImage, runnerImage, s3Bucket, s3Region, s3Endpoint, namespaceName, secretName, [databaseCaCert, databaseServerName]]) => {
        const env = workerEnvironment({
          runnerMode: a.runnerMode,
          maxConcurrentJobs: a.maxConcurrentJobs,
          runnerImage,
          s3Bucket,
          s3Region,
          s3Endpoint,
          k8sNamespace: namespaceName,
          redisCluster: a.redisCluster,
          databaseCaCert,
          databaseServerName,
        });
        assertNoSecretsInPlainEnv(env, `KubernetesWorkload ${name}`);
        return workerPodSpec({ ...a, workerImage, runnerImage, env, secretName, secretKeys: Object.keys(a.secrets) });
      });
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-workers`,
      {
        metadata: meta('workers'),
        spec: {
          // The autoscaler owns the count from here; this is the count before it first acts.
          replicas: a.minReplicas,
          selector: { matchLabels: labels },
          // Replace one worker at a time; a stopping worker drains its jobs (terminationGracePeriodSeconds).
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: { metadata: { labels }, spec: podSpec },
        },
      },
      { parent: this, dependsOn: rbac, ignoreChanges: ['spec.replicas'] },
    );

    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-workers`,
      { metadata: meta('workers'), spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
      child,
    );

    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-workers`,
      {
        metadata: meta('workers'),
        spec: pulumi
          .all([deployment.metadata.name, a.queueMetric])
          .apply(([deploymentName, metric]) =>
            autoscalerSpec({ deploymentName, minReplicas: a.minReplicas, maxReplicas: a.maxReplicas, queueDepthTarget: a.queueDepthTarget, metric }),
          ),
      },
      child,
    );

    new k8s.networking.v1.NetworkPolicy(`${name}-runner-deny-all`, { metadata: meta('runner-deny-all', COMPONENT_RUNNER), spec: runnerNetworkPolicySpec() }, child);
    new k8s.networking.v1.NetworkPolicy(
      `${name}-worker-egress`,
      {
        metadata: meta('worker-egress'),
        spec: pulumi.all([a.privateServicesCidr, a.redisReach]).apply(([cidr, redis]) => workerNetworkPolicySpec(cidr, redis)),
      },
      child,
    );

    this.namespace = ns;
    this.deploymentName = deployment.metadata.name;
    this.registerOutputs({ namespace: this.namespace, deploymentName: this.deploymentName });
  }
}
