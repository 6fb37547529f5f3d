// The gcp target's HTTP API: the Kubernetes API component (kubernetesApi.ts: Secret, Deployment, an internal
// LoadBalancer Service unless public, HPA on CPU, a NetworkPolicy to Redis only) in the workload's namespace, its
// tokens from config or generated, its callback signing key generated.
import type * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { KubernetesApi } from '../kubernetesApi.js';
import type { RedisReach } from '../kubernetesSpecs.js';

export interface ApiArgs {
  readonly image: pulumi.Input<string>;
  readonly namespace: pulumi.Input<string>;
  readonly redisUrl: pulumi.Input<string>;
  readonly redisReach: pulumi.Input<RedisReach>;
  readonly redisCluster: boolean;
  /** The accepted tokens, comma separated (a secret); absent: one is generated. */
  readonly tokens?: pulumi.Input<string>;
  readonly public: boolean;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuTargetPercent: number;
  readonly cpuMillis: number;
  readonly memoryMb: number;
  /** Where the pods may run: the nodes of the image's architecture. */
  readonly nodeSelector: Record<string, string>;
  /** The cluster's Kubernetes provider. */
  readonly provider: k8s.Provider;
}

export interface Api {
  readonly api: KubernetesApi;
  /** API_TOKENS (a secret output: `pulumi stack output --show-secrets`). */
  readonly tokens: pulumi.Output<string>;
}

/** Creates `<name>-api` (and its generated token and signing key) as children of `parent`. */
export function createApi(name: string, args: ApiArgs, parent: pulumi.Resource): Api {
  const child = { parent };
  if (args.public) {
    pulumi.log.warn('apiPublic on gcp puts the API on an external load balancer in plain HTTP: put TLS in front of it (e.g. a Gateway with a managed certificate) before sending tokens over the internet', parent);
  }
  const tokens = pulumi.secret(args.tokens ?? new random.RandomPassword(`${name}-api-token`, { length: 40, special: false }, child).result);
  const signingKey = new random.RandomPassword(`${name}-callback-signing-key`, { length: 48, special: false }, child);
  const api = new KubernetesApi(
    `${name}-api`,
    {
      image: args.image,
      namespace: args.namespace,
      secrets: { REDIS_URL: args.redisUrl, API_TOKENS: tokens, CALLBACK_SIGNING_KEY: signingKey.result },
      redis: args.redisReach,
      redisCluster: args.redisCluster,
      public: args.public,
      minReplicas: args.minReplicas,
      maxReplicas: args.maxReplicas,
      cpuTargetPercent: args.cpuTargetPercent,
      cpuMillis: args.cpuMillis,
      memoryMb: args.memoryMb,
      nodeSelector: args.nodeSelector,
    },
    { parent, providers: { kubernetes: args.provider } },
  );
  return { api, tokens };
}
