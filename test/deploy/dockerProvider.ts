// The local stack's resources (@pulumi/docker: Network, Volume, Container) created on this machine's Docker engine the
// way the docker provider creates them, for the local stack's rehearsal (localStack.test.ts). What is reproduced,
// from the provider's schema and its behaviour (it drives the Engine API):
// - `image` is the image as given; `entrypoints` replaces the image's ENTRYPOINT and `command` its CMD (Docker's own
//   rule then applies: a given ENTRYPOINT drops the image's CMD).
// - `envs`, `user`, `readOnly`, `tmpfs`, `capabilities` (adds/drops), `securityOpts`, `privileged`, `groupAdds`,
//   `healthcheck` (durations as Go durations), `restart`, `stopTimeout`.
// - `networksAdvanced`: the container joins those networks (and no other: the provider sets the first one as the
//   network mode), with its name resolvable by the others (Docker's DNS on a user-defined network) and any aliases.
// - `volumes`: a named volume (`volumeName`) or a bind of a path on the engine's host (`hostPath`), at `containerPath`.
// - `ports`: published on `ip`; the rehearsal publishes each on a free port instead of the stack's fixed one, so it
//   can run beside anything else on this machine.
// - Volume: a named volume of the local driver; its `mountpoint` output is where the engine keeps it.
// What is not: `destroyGraceSeconds` (the provider's wait when it destroys a container; stop() here removes them), the
// provider's own waiting (it waits for `running`, as createContainer + start here). A field this file does not know is
// refused, so a new setting in the stack cannot be silently left out of the rehearsal.
import Docker from 'dockerode';
import type { Inputs } from '../pulumi/harness.js';

const KNOWN_CONTAINER_FIELDS = new Set([
  'name', 'image', 'entrypoints', 'command', 'envs', 'user', 'readOnly', 'tmpfs', 'capabilities', 'securityOpts', 'privileged',
  'groupAdds', 'healthcheck', 'restart', 'stopTimeout', 'networksAdvanced', 'volumes', 'ports',
  // The provider's wait on destroy; nothing the engine sees.
  'destroyGraceSeconds',
]);
const KNOWN_VOLUME_MOUNT_FIELDS = new Set(['volumeName', 'hostPath', 'containerPath', 'readOnly']);

/** A Go duration as the provider takes them (`30s`, `1m30s`, `500ms`) in nanoseconds, as the Engine API wants. */
export function goDuration(value: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value) throw new Error(`not a Go duration: ${value}`);
  return parts.reduce((ns, [, n, unit]) => ns + Number(n) * units[unit], 0);
}

/** What a container is created with besides its resource inputs. */
export interface ContainerContext {
  /** The local image that stands for the stack's image reference. */
  image(reference: string): string;
  /** The engine's name of each of the stack's networks and volumes, and of the container itself. */
  name(stackName: string): string;
  /** A value of the stack's env with the outputs the provider resolves in a real update (volume mountpoints, image references). */
  envValue(value: string): string;
  /** The host port to publish a container port on (a free one). */
  hostPort(internal: number): number;
}

/** The `docker create` options (Engine API) of one docker.Container's inputs, as the docker provider would create it. */
export function containerCreateOptions(inputs: Inputs, ctx: ContainerContext): Docker.ContainerCreateOptions {
  const unknown = Object.keys(inputs).filter((k) => !KNOWN_CONTAINER_FIELDS.has(k));
  if (unknown.length) throw new Error(`containerCreateOptions: container ${inputs.name} sets ${unknown.join(', ')}, which this rehearsal does not reproduce; add it to test/deploy/dockerProvider.ts`);
  const networks = (inputs.networksAdvanced ?? []) as { name: string; aliases?: string[] }[];
  const mounts = (inputs.volumes ?? []) as Inputs[];
  for (const m of mounts) {
    const extra = Object.keys(m).filter((k) => !KNOWN_VOLUME_MOUNT_FIELDS.has(k));
    if (extra.length) throw new Error(`containerCreateOptions: a volume of ${inputs.name} sets ${extra.join(', ')}, which this rehearsal does not reproduce`);
  }
  const ports = (inputs.ports ?? []) as { internal: number; external: number; ip?: string }[];
  const health = inputs.healthcheck as { tests: string[]; interval?: string; timeout?: string; retries?: number; startPeriod?: string } | undefined;
  return {
    name: ctx.name(inputs.name),
    Image: ctx.image(inputs.image),
    ...(inputs.entrypoints ? { Entrypoint: inputs.entrypoints } : {}),
    ...(inputs.command ? { Cmd: inputs.command } : {}),
    Env: ((inputs.envs ?? []) as string[]).map((kv) => {
      const at = kv.indexOf('=');
      return `${kv.slice(0, at)}=${ctx.envValue(kv.slice(at + 1))}`;
    }),
    ...(inputs.user ? { User: inputs.user } : {}),
    ...(inputs.stopTimeout !== undefined ? { StopTimeout: inputs.stopTimeout } : {}),
    ...(health
      ? {
          Healthcheck: {
            Test: health.tests,
            ...(health.interval ? { Interval: goDuration(health.interval) } : {}),
            ...(health.timeout ? { Timeout: goDuration(health.timeout) } : {}),
            ...(health.retries !== undefined ? { Retries: health.retries } : {}),
            ...(health.startPeriod ? { StartPeriod: goDuration(health.startPeriod) } : {}),
          },
        }
      : {}),
    ExposedPorts: Object.fromEntries(ports.map((p) => [`${p.internal}/tcp`, {}])),
    HostConfig: {
      ...(networks.length ? { NetworkMode: ctx.name(networks[0].name) } : {}),
      PortBindings: Object.fromEntries(ports.map((p) => [`${p.internal}/tcp`, [{ HostIp: p.ip ?? '', HostPort: String(ctx.hostPort(p.internal)) }]])),
      Mounts: mounts.map((m) =>
        m.volumeName
          ? { Type: 'volume' as const, Source: ctx.name(m.volumeName), Target: m.containerPath, ReadOnly: m.readOnly ?? false }
          : { Type: 'bind' as const, Source: m.hostPath, Target: m.containerPath, ReadOnly: m.readOnly ?? false },
      ),
      ReadonlyRootfs: inputs.readOnly ?? false,
      Privileged: inputs.privileged ?? false,
      ...(inputs.tmpfs ? { Tmpfs: inputs.tmpfs } : {}),
      CapAdd: inputs.capabilities?.adds ?? [],
      CapDrop: inputs.capabilities?.drops ?? [],
      SecurityOpt: inputs.securityOpts ?? [],
      ...(inputs.groupAdds ? { GroupAdd: inputs.groupAdds } : {}),
      ...(inputs.restart ? { RestartPolicy: { Name: inputs.restart } } : {}),
    },
    NetworkingConfig: {
      EndpointsConfig: Object.fromEntries(networks.slice(0, 1).map((n) => [ctx.name(n.name), { Aliases: n.aliases ?? [] }])),
    },
  };
}

/** Joins the container to its networks after the first (the provider connects them after creating it). */
export async function connectOtherNetworks(docker: Docker, container: Docker.Container, inputs: Inputs, ctx: ContainerContext): Promise<void> {
  for (const n of ((inputs.networksAdvanced ?? []) as { name: string; aliases?: string[] }[]).slice(1)) {
    await docker.getNetwork(ctx.name(n.name)).connect({ Container: container.id, EndpointConfig: { Aliases: n.aliases ?? [] } });
  }
}
