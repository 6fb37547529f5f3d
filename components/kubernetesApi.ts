// code-execution:kubernetes:Api — the HTTP API on a Kubernetes cluster, next to the workload (same namespace): its
// credentials Secret, a Deployment of `code-exec api`, a LoadBalancer Service (internal unless public), an HPA on
// CPU and a NetworkPolicy that lets it reach Redis only. The specs are kubernetesApiSpecs.ts; pass the cluster's
// provider through `providers` in the options.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { apiAutoscalerSpec, apiNetworkPolicySpec, apiPodSpec, apiServiceAnnotations, apiServiceSpec, COMPONENT_API } from './kubernetesApiSpecs.js';
import { labelsFor, type RedisReach } from './kubernetesSpecs.js';
import { DEFAULTS } from './stackConfig.js';
import { apiEnvironment } from './workerEnv.js';

export interface KubernetesApiArgs {
  /** The worker image (`code-exec api` runs from it). */
  readonly image: pulumi.Input<string>;
  /** The workload's namespace. */
  readonly namespace: pulumi.Input<string>;
  /** REDIS_URL, API_TOKENS and CALLBACK_SIGNING_KEY: stored in a Secret, read through secretKeyRef. */
  readonly secrets: { REDIS_URL: pulumi.Input<string>; API_TOKENS: pulumi.Input<string>; CALLBACK_SIGNING_KEY: pulumi.Input<string> };
  /** Where Redis is: the only place the API pods may reach. */
  readonly redis: pulumi.Input<RedisReach>;
  /** REDIS_URL names a node of a Redis Cluster. Defaults to false. */
  readonly redisCluster?: boolean;
  /** An external load balancer instead of an internal one. Defaults to false. */
  readonly public?: boolean;
  /** Replicas the HPA keeps between, and its CPU target. Default to 2, 10 and 60 %. */
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  readonly cpuTargetPercent?: number;
  /** Millicores and MB of the API container (requests = limits). Default to 250 and 512. */
  readonly cpuMillis?: number;
  readonly memoryMb?: number;
  /** Where the API pods may run (e.g. the nodes of the image's architecture). Defaults to anywhere. */
  readonly nodeSelector?: Record<string, string>;
}

export class KubernetesApi extends pulumi.ComponentResource {
  /** http://<the load balancer's address> (empty until the cloud has assigned one). */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: KubernetesApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:kubernetes:Api', name, {}, opts);
    const given = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as KubernetesApiArgs;
    const a = {
      redisCluster: false,
      public: DEFAULTS.apiPublic,
      minReplicas: DEFAULTS.apiMinReplicas,
      maxReplicas: DEFAULTS.apiMaxReplicas,
      cpuTargetPercent: DEFAULTS.apiCpuTargetPercent,
      cpuMillis: DEFAULTS.apiCpuMillis,
      memoryMb: DEFAULTS.apiMemoryMb,
      ...given,
    };
    if (a.minReplicas < 1 || a.minReplicas > a.maxReplicas) {
      throw new Error(`KubernetesApi ${name}: minReplicas (${a.minReplicas}) must be >= 1 and <= maxReplicas (${a.maxReplicas})`);
    }
    const child = { parent: this };
    const labels = labelsFor(COMPONENT_API);
    const meta = (suffix: string) =>
      pulumi.output(a.namespace).apply((namespace) => ({ name: `${namespace}-${suffix}`, namespace, labels }));

    const secret = new k8s.core.v1.Secret(
      `${name}-credentials`,
      { metadata: meta('api-credentials'), type: 'Opaque', stringData: pulumi.secret(pulumi.output(a.secrets)) },
      child,
    );
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-api`,
      {
        metadata: meta('api'),
        spec: {
          // The autoscaler owns the count from here; this is the count before it first acts.
          replicas: a.minReplicas,
          selector: { matchLabels: labels },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels },
            spec: pulumi.all([a.image, secret.metadata.name]).apply(([image, secretName]) =>
              apiPodSpec({
                image,
                env: apiEnvironment({ redisCluster: a.redisCluster }),
                secretName,
                secretKeys: Object.keys(a.secrets),
                cpuMillis: a.cpuMillis,
                memoryMb: a.memoryMb,
                nodeSelector: a.nodeSelector,
              }),
            ),
          },
        },
      },
      { parent: this, ignoreChanges: ['spec.replicas'] },
    );
    const service = new k8s.core.v1.Service(
      `${name}-api`,
      { metadata: meta('api').apply((m) => ({ ...m, annotations: apiServiceAnnotations(a.public) })), spec: apiServiceSpec() },
      child,
    );
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-api`,
      {
        metadata: meta('api'),
        spec: deployment.metadata.name.apply((deploymentName) =>
          apiAutoscalerSpec({ deploymentName, minReplicas: a.minReplicas, maxReplicas: a.maxReplicas, cpuTargetPercent: a.cpuTargetPercent }),
        ),
      },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(`${name}-api`, { metadata: meta('api'), spec: pulumi.output(a.redis).apply(apiNetworkPolicySpec) }, child);

    // The provider waits for the load balancer's address before the Service counts as created.
    this.url = service.status.apply((status) => {
      const address = status?.loadBalancer?.ingress?.[0]?.ip ?? status?.loadBalancer?.ingress?.[0]?.hostname;
      return address ? `http://${address}` : '';
    });
    this.registerOutputs({ url: this.url });
  }
}
