// The Kubernetes workload's specs as plain data: the worker pod (with the runner as a native sidecar in sidecar mode), its
// security contexts, the network policies, the runner-Job Role and the autoscaler. Pure (types only from
// @pulumi/kubernetes), so components/kubernetesWorkload.ts stays a list of resource calls and the unit tests read
// the specs without mocks.
import type * as k8s from '@pulumi/kubernetes';
import { APP_NAME, LABEL_COMPONENT, LABEL_NAME, RUNNER_COMPONENT, RUNNER_POD_LABELS } from '../core/labels.js';
import { HEARTBEAT_FILE } from '../core/protocol/sidecarExchange.js';
import { POSTGRES_PORT, REDIS_PORT, HTTPS_PORT } from './awsPolicies.js';
import {
  APP_UID,
  assertNoSecretsInPlainEnv,
  METRICS_PORT,
  nameValueList,
  RUNNER_SIDECAR_CAPABILITIES,
  RUNNER_WORKSPACE_DIR,
  SHARED_DIR,
  SIDECAR_COMMAND,
} from './workerEnv.js';


export const DEFAULT_NAMESPACE = 'code-execution';
export const APP_LABEL = APP_NAME;
/**
 * Worker pods; runner pods (the Jobs of the kubernetes runner mode) carry COMPONENT_RUNNER instead. The runner
 * labels are the transport's own (core/labels.ts), so the NetworkPolicy cannot miss its pods.
 */
export const COMPONENT_WORKER = 'worker';
export const COMPONENT_RUNNER = RUNNER_COMPONENT;
/** The ServiceAccount the worker uses in kubernetes mode (the only mode that talks to the API server). */
export const WORKER_SERVICE_ACCOUNT = 'code-execution-worker';
/** Memory-backed /tmp for the read-only containers (tsx's transform cache, node's temp files). */
export const TMP_SIZE = '64Mi';

export const labelsFor = (component: string): Record<string, string> => ({
  [LABEL_NAME]: APP_LABEL,
  [LABEL_COMPONENT]: component,
});

export interface WorkerPodInput {
  runnerMode: 'sidecar' | 'kubernetes';
  workerImage: string;
  runnerImage: string;
  /** Plain variables (workerEnvironment); must not contain a secret's name. */
  env: Record<string, string>;
  /** The Secret holding the credentials, and which of its keys become which variables. */
  secretName: string;
  secretKeys: string[];
  workerCpuMillis: number;
  workerMemoryMb: number;
  runnerCpuMillis: number;
  runnerMemoryMb: number;
  workspaceSizeMb: number;
  /** Where the pods may run (e.g. the nodes of the images' architecture). Defaults to anywhere. */
  nodeSelector?: Record<string, string>;
}

/** What the worker runs with (the restricted Pod Security Standard, and a read-only root). */
export function containerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: APP_UID,
    runAsGroup: APP_UID,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * The runner sidecar: uid 0 with every capability dropped but RUNNER_SIDECAR_CAPABILITIES (to give each job step its
 * own uid, make its socket in the shared directory and remove what a job left; as uid 0 it also owns the container's
 * devpts and makes its ptmx mode 0000, since ptys are a host-wide pool: runner/sandbox/executor.c), no privilege
 * escalation, never privileged,
 * read-only root (the sidecar refuses a writable one), RuntimeDefault seccomp. The Pod Security Standard `baseline`
 * admits it; `restricted` would not (root, added capabilities).
 */
export function runnerSidecarSecurityContext(): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsUser: 0,
    runAsGroup: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'], add: [...RUNNER_SIDECAR_CAPABILITIES] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The pod's defaults are the worker's; the runner sidecar overrides them in its own security context. */
export function podSecurityContext(): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: APP_UID,
    runAsGroup: APP_UID,
    // emptyDir volumes become group-writable for uid 1000 in both containers.
    fsGroup: APP_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export const memoryDir = (name: string, sizeLimit: string): k8s.types.input.core.v1.Volume => ({ name, emptyDir: { medium: 'Memory', sizeLimit } });

/** Requests equal limits: a guaranteed pod (and what GKE Autopilot would set anyway). */
export const resources = (cpuMillis: number, memoryMb: number): k8s.types.input.core.v1.ResourceRequirements => {
  const r = { cpu: `${cpuMillis}m`, memory: `${memoryMb}Mi` };
  return { requests: r, limits: { ...r } };
};

/**
 * The runner sidecar has started when its heartbeat says it takes jobs (it writes one a second from then on). Until
 * then the kubelet starts no container after it: a minute, then it restarts the sidecar.
 */
export function runnerSidecarStartupProbe(): k8s.types.input.core.v1.Probe {
  // grep, not a JSON parser: the runner image carries no runtime of its own (the executor writes `"ready":true` so).
  return {
    exec: { command: ['grep', '-q', '"ready":true', `${SHARED_DIR}/${HEARTBEAT_FILE}`] },
    periodSeconds: 1,
    timeoutSeconds: 5,
    failureThreshold: 60,
  };
}

export function workerPodSpec(input: WorkerPodInput): k8s.types.input.core.v1.PodSpec {
  assertNoSecretsInPlainEnv(input.env, 'workerPodSpec: env');
  const sidecar = input.runnerMode === 'sidecar';
  const workspace = `${input.workspaceSizeMb}Mi`;
  const secretEnv: k8s.types.input.core.v1.EnvVar[] = [...input.secretKeys].sort().map((key) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: input.secretName, key } },
  }));
  const worker: k8s.types.input.core.v1.Container = {
    name: 'worker',
    image: input.workerImage,
    args: ['worker'],
    env: [
      ...nameValueList(input.env),
      ...secretEnv,
      // One consumer name per pod, readable in `code-exec stats`.
      { name: 'WORKER_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    ports: [{ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' }],
    livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, initialDelaySeconds: 10, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    resources: resources(input.workerCpuMillis, input.workerMemoryMb),
    securityContext: containerSecurityContext(),
    volumeMounts: [{ name: 'worker-tmp', mountPath: '/tmp' }, ...(sidecar ? [{ name: 'shared', mountPath: SHARED_DIR }] : [])],
  };
  const sidecars: k8s.types.input.core.v1.Container[] = [];
  const volumes: k8s.types.input.core.v1.Volume[] = [memoryDir('worker-tmp', TMP_SIZE)];
  if (sidecar) {
    // A native sidecar (an init container that keeps running; Kubernetes 1.29+): the kubelet starts it, and pulls its
    // image, before the worker, and starts the worker only once its startup probe passes. As a second container the
    // worker came first and took jobs while a new node was still pulling the multi-GB runner image, failing each one
    // ("no runner sidecar serves /shared"). It is also stopped only after the worker has drained.
    sidecars.push({
      name: 'runner',
      image: input.runnerImage,
      restartPolicy: 'Always',
      command: [...SIDECAR_COMMAND],
      // One job at a time in this container (its cgroup is the job's sandbox): see runnerSidecarMemory.
      resources: resources(input.runnerCpuMillis, input.runnerMemoryMb),
      securityContext: runnerSidecarSecurityContext(),
      volumeMounts: [
        { name: 'shared', mountPath: SHARED_DIR },
        { name: 'runner-workspace', mountPath: RUNNER_WORKSPACE_DIR },
        { name: 'runner-tmp', mountPath: '/tmp' },
        // As in the kubernetes transport's runner pods: no writable /dev/shm, a tmpfs outside every budget that the
        // pod's containers would share.
        { name: 'runner-no-shm', mountPath: '/dev/shm', readOnly: true },
      ],
      startupProbe: runnerSidecarStartupProbe(),
    });
    volumes.push(
      memoryDir('shared', workspace),
      memoryDir('runner-workspace', workspace),
      memoryDir('runner-tmp', TMP_SIZE),
      memoryDir('runner-no-shm', '1Mi'),
    );
  }
  return {
    securityContext: podSecurityContext(),
    // Only the kubernetes runner mode talks to the API server (to create runner Jobs); otherwise no token at all.
    ...(sidecar ? { automountServiceAccountToken: false } : { serviceAccountName: WORKER_SERVICE_ACCOUNT, automountServiceAccountToken: true }),
    enableServiceLinks: false,
    ...(input.nodeSelector ? { nodeSelector: { ...input.nodeSelector } } : {}),
    // SIGTERM, then this long to drain in-flight jobs (SHUTDOWN_GRACE_MS defaults to 25 s) before SIGKILL.
    terminationGracePeriodSeconds: 30,
    ...(sidecars.length ? { initContainers: sidecars } : {}),
    containers: [worker],
    volumes,
  };
}

/** Runner pods (kubernetes-mode Jobs) reach nothing and nothing reaches them: deny all ingress and egress. */
export function runnerNetworkPolicySpec(): k8s.types.input.networking.v1.NetworkPolicySpec {
  return { podSelector: { matchLabels: { ...RUNNER_POD_LABELS } }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] };
}

/**
 * Where Redis is, for the NetworkPolicies of the pods that use it: an address range (one address, /32, for a single
 * instance) and its ports (a Redis Cluster's nodes listen on a range: `endPort`).
 */
export interface RedisReach {
  cidr: string;
  ports: { port: number; endPort?: number }[];
}

/** DNS, which every pod that resolves a name needs (kube-dns / Cloud DNS answer inside the cluster). */
export const DNS_EGRESS: k8s.types.input.networking.v1.NetworkPolicyEgressRule = { ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] };

/** The egress rule to Redis alone. */
export function redisEgressRule(redis: RedisReach): k8s.types.input.networking.v1.NetworkPolicyEgressRule {
  return { to: [{ ipBlock: { cidr: redis.cidr } }], ports: redis.ports.map((p) => ({ ...p, protocol: 'TCP' })) };
}

/**
 * Worker pods: ingress only to the metrics port (Prometheus); egress only to DNS, Redis, PostgreSQL and HTTPS (the
 * object store and, in kubernetes mode, the API server). In sidecar mode the runner shares the pod, so this bounds
 * it too. With `privateServicesCidr` (GCP's private services range) Redis and PostgreSQL are reachable only there;
 * with `redis`, Redis only where that says (its address, or a Redis Cluster's endpoints and node ports).
 */
export function workerNetworkPolicySpec(privateServicesCidr?: string, redis?: RedisReach): k8s.types.input.networking.v1.NetworkPolicySpec {
  const to = privateServicesCidr ? { to: [{ ipBlock: { cidr: privateServicesCidr } }] } : {};
  return {
    podSelector: { matchLabels: labelsFor(COMPONENT_WORKER) },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ ports: [{ port: METRICS_PORT, protocol: 'TCP' }] }],
    egress: [
      DNS_EGRESS,
      // Memorystore with in-transit encryption listens on 6378.
      redis ? redisEgressRule(redis) : { ...to, ports: [{ port: REDIS_PORT, protocol: 'TCP' }, { port: 6378, protocol: 'TCP' }] },
      { ...to, ports: [{ port: POSTGRES_PORT, protocol: 'TCP' }] },
      { ports: [{ port: HTTPS_PORT, protocol: 'TCP' }] },
    ],
  };
}

/** The kubernetes runner mode's Role: runner Jobs, the ConfigMaps that carry jobs in, and reading their pods and logs. */
export function runnerJobRoleRules(): k8s.types.input.rbac.v1.PolicyRule[] {
  return [
    { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get', 'list', 'delete'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  ];
}

/**
 * The backlog as the cluster's external metrics API serves it: the metric's name and the labels that select it. It
 * must come back as one number for the whole group (the backlog, once), not once per pod that exports it: the HPA
 * adds up every value it gets (e.g. on GKE: components/gcp/metrics.ts).
 */
export interface ExternalQueueMetric {
  name: string;
  selector: Record<string, string>;
}

export interface AutoscalerInput {
  deploymentName: string;
  minReplicas: number;
  maxReplicas: number;
  /** Pending jobs per worker to aim for. */
  queueDepthTarget: number;
  /** Where the backlog comes from. */
  metric: ExternalQueueMetric;
}

/**
 * autoscaling/v2 on the backlog as an External metric with an AverageValue target: the HPA divides it by the target,
 * so it keeps ceil(backlog / queueDepthTarget) replicas, the same as the aws stack's target tracking on the backlog
 * per worker, with its cooldowns (scale out after 30 s, in after 60 s).
 */
export function autoscalerSpec(input: AutoscalerInput): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec {
  if (input.minReplicas > input.maxReplicas) throw new RangeError(`autoscalerSpec: minReplicas ${input.minReplicas} > maxReplicas ${input.maxReplicas}`);
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: input.deploymentName },
    minReplicas: input.minReplicas,
    maxReplicas: input.maxReplicas,
    metrics: [
      {
        type: 'External',
        external: {
          metric: { name: input.metric.name, selector: { matchLabels: { ...input.metric.selector } } },
          target: { type: 'AverageValue', averageValue: String(input.queueDepthTarget) },
        },
      },
    ],
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 30, policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }] },
      scaleDown: { stabilizationWindowSeconds: 60, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] },
    },
  };
}
