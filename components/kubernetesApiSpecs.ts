// The HTTP API's Kubernetes specs as plain data: its pod (`code-exec api` from the worker image, restricted like the
// worker), its Service (an internal load balancer unless public), its CPU autoscaler and its NetworkPolicy (clients
// in on the API port, out only to Redis). Pure (types only from @pulumi/kubernetes), tested without mocks;
// components/kubernetesApi.ts makes the resources.
import type * as k8s from '@pulumi/kubernetes';
import { containerSecurityContext, labelsFor, memoryDir, podSecurityContext, redisEgressRule, resources, TMP_SIZE, type RedisReach } from './kubernetesSpecs.js';
import { API_PORT, assertNoSecretsInPlainEnv, nameValueList } from './workerEnv.js';

/** The API pods' component label (the workers' is COMPONENT_WORKER). */
export const COMPONENT_API = 'api';
/** The port the Service's load balancer listens on (to the pods' API_PORT). */
export const API_SERVICE_PORT = 80;
/** GKE's annotation for a Service of type LoadBalancer on an internal passthrough load balancer (VPC only). */
export const GKE_INTERNAL_LB_ANNOTATION = { 'networking.gke.io/load-balancer-type': 'Internal' } as const;

export interface ApiPodInput {
  image: string;
  /** Plain variables (apiEnvironment); must not contain a secret's name. */
  env: Record<string, string>;
  /** The Secret holding REDIS_URL, API_TOKENS and CALLBACK_SIGNING_KEY, and which of its keys become variables. */
  secretName: string;
  secretKeys: string[];
  cpuMillis: number;
  memoryMb: number;
  /** Where the pods may run (e.g. the nodes of the image's architecture). Defaults to anywhere. */
  nodeSelector?: Record<string, string>;
}

export function apiPodSpec(input: ApiPodInput): k8s.types.input.core.v1.PodSpec {
  assertNoSecretsInPlainEnv(input.env, 'apiPodSpec: env');
  const probe = (path: string) => ({ httpGet: { path, port: 'http' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
  return {
    securityContext: podSecurityContext(),
    // The API talks to Redis only, never to the Kubernetes API.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    ...(input.nodeSelector ? { nodeSelector: { ...input.nodeSelector } } : {}),
    // SIGTERM: the API stops taking requests and ends its waits; a ?wait holds a request up to 60 s.
    terminationGracePeriodSeconds: 30,
    containers: [
      {
        name: 'api',
        image: input.image,
        args: ['api'],
        env: [
          ...nameValueList(input.env),
          ...[...input.secretKeys].sort().map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: input.secretName, key } } })),
        ],
        ports: [{ name: 'http', containerPort: API_PORT, protocol: 'TCP' }],
        readinessProbe: probe('/readyz'),
        livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 10, periodSeconds: 15 },
        resources: resources(input.cpuMillis, input.memoryMb),
        securityContext: containerSecurityContext(),
        volumeMounts: [{ name: 'api-tmp', mountPath: '/tmp' }],
      },
    ],
    volumes: [memoryDir('api-tmp', TMP_SIZE)],
  };
}

/** A LoadBalancer Service to the API pods: internal to the VPC (GKE's annotation) unless `public`. */
export function apiServiceSpec(): k8s.types.input.core.v1.ServiceSpec {
  return {
    type: 'LoadBalancer',
    selector: labelsFor(COMPONENT_API),
    ports: [{ name: 'http', port: API_SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }],
  };
}

/** The Service's annotations: the internal load balancer's unless public. */
export function apiServiceAnnotations(isPublic: boolean): Record<string, string> {
  return isPublic ? {} : { ...GKE_INTERNAL_LB_ANNOTATION };
}

export interface ApiAutoscalerInput {
  deploymentName: string;
  minReplicas: number;
  maxReplicas: number;
  /** Average CPU utilization of the requests, in percent. */
  cpuTargetPercent: number;
}

/** autoscaling/v2 on CPU utilization, with the aws stack's pace (out after 60 s, in after 300 s). */
export function apiAutoscalerSpec(input: ApiAutoscalerInput): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec {
  if (input.minReplicas > input.maxReplicas) throw new RangeError(`apiAutoscalerSpec: minReplicas ${input.minReplicas} > maxReplicas ${input.maxReplicas}`);
  return {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: input.deploymentName },
    minReplicas: input.minReplicas,
    maxReplicas: input.maxReplicas,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: input.cpuTargetPercent } } }],
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 60 },
      scaleDown: { stabilizationWindowSeconds: 300 },
    },
  };
}

/**
 * API pods: ingress only on the API port (from the load balancer and the cluster); egress only to Redis, by address
 * (Memorystore's REDIS_URL holds an IP, so not even DNS). Callbacks to outside URLs are therefore not delivered from
 * this stack (README, "Network and sandbox boundaries").
 */
export function apiNetworkPolicySpec(redis: RedisReach): k8s.types.input.networking.v1.NetworkPolicySpec {
  return {
    podSelector: { matchLabels: labelsFor(COMPONENT_API) },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ ports: [{ port: API_PORT, protocol: 'TCP' }] }],
    egress: [redisEgressRule(redis)],
  };
}
