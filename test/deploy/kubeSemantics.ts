// A Kubernetes pod template turned into what `podman kube play` (Debian 12's podman 4.3.1) runs as the kubelet and
// containerd would run it, for the rehearsals of the gcp stack (test/deploy/gcpStack.test.ts; kubePod.ts runs it).
// Reproduced, from the Kubernetes API reference and the kubelet's code:
// - `command` replaces the image's ENTRYPOINT and `args` its CMD (podman does the same).
// - One network namespace per pod (podman's infra container holds it, started first like the kubelet's sandbox); the
//   pod's hostname is its name.
// - Start order (the kubelet's SyncPod): native sidecars (initContainers with restartPolicy Always) in order, each
//   started only after the previous one's startupProbe passed; then the containers in order, one after the other.
//   Each container's image is pulled just before it is started: a node without the image starts the containers after
//   it only once the pull is done (kubePod.ts can hold a start for a given pull time). podman would start them all at
//   once; kubePod.ts starts them itself in this order (startOrder).
// - Security contexts: the container's fields over the pod's (runAsUser, runAsGroup, runAsNonRoot, seccompProfile),
//   made explicit per container; runAsNonRoot checked as the kubelet does before it starts a container (an
//   effective uid 0, or a non-numeric image USER, is refused); readOnlyRootFilesystem, capabilities,
//   allowPrivilegeEscalation (no_new_privs) and privileged handed to podman, which applies them as containerd does;
//   seccompProfile RuntimeDefault is podman's default profile (containers-common's; containerd's is derived from the
//   same Docker profile).
// - `fsGroup`: the kubelet adds it to every container's supplementary groups and gives every emptyDir to that group
//   (setgid, group rw). podman 4.3 ignores fsGroup: here it becomes the pod's supplementalGroups, and the emptyDirs
//   are made with that ownership (emptyDirPlan).
// - emptyDir: a fresh directory (mode 0777), or with `medium: Memory` a tmpfs of min(sizeLimit, the pod's memory
//   limit, the host's memory), then the fsGroup ownership: what the kubelet makes under /var/lib/kubelet/pods and
//   containerd bind-mounts (no noexec/nosuid). podman would make a disk volume, ignore the medium and the size, and
//   copy the image's directory into it: here each emptyDir is a host directory the rehearsal makes as the kubelet
//   does (kubePod.ts), handed to podman as a hostPath.
// - env: `value`, `secretKeyRef` (resolved from the given Secrets, as the kubelet does; podman 4.3.1 stores a Secret
//   of the played YAML as YAML but reads it back as JSON, so it cannot resolve one) and `fieldRef` metadata.name and
//   metadata.namespace.
// - resources: limits (memory limit, CPU quota) by podman; requests.cpu as CPU shares (1024 per CPU), which podman
//   does not set, by kubePod.ts (`podman update`); requests.memory sets nothing on cgroup v1 (scheduling only).
// - Probes: httpGet from the node to the pod's IP, exec inside the container; readiness decides whether the pod
//   serves, liveness restarts the container, startup holds the next sidecar or container. podman 4.3 would run a
//   liveness probe as curl inside the container (absent from the images) and ignores the others: here they are left
//   out of the YAML and run by kubePod.ts: a startupProbe while it starts the pod, on its period and threshold; the
//   others one attempt per probe() call, the test driving their timing. A failing liveness probe restarts nothing.
// - ports: a containerPort is not published on the node (only hostPort would be); the pod's IP serves it. podman 4.3
//   publishes each containerPort on the host's 0.0.0.0: they are left out of the YAML (probes and Services find
//   named ports in the spec).
// - nodeSelector: only `kubernetes.io/arch`, checked against this host (elsewhere the pod would stay Pending).
// Not reproduced, knowingly: terminationGracePeriodSeconds and the stop order (the rehearsal removes its pods at
// once); NetworkPolicies (no policy engine here); AppArmor (disabled on this host, GKE's containerd applies its
// default profile); Services' env (enableServiceLinks: no Service runs here); CrashLoopBackOff's delays (podman
// restarts at once); containerd's RLIMIT_NOFILE (1048576 on GKE, this host's hard limit here: kubePod.ts).
// Refused, so that a new setting in the stack cannot be silently left out of a rehearsal: any field this file does
// not know (KNOWN), init containers that run to completion, a service account token (there is no API server),
// `$(VAR)` in env, command or args (the kubelet expands it, podman does not), and a container that does not drop ALL
// capabilities (podman's default set is not containerd's).

/** The parts of a pod spec this file reads; every other field is refused (KNOWN). */
export interface PodSpec {
  containers: Container[];
  /** Only native sidecars (restartPolicy Always). */
  initContainers?: Container[];
  volumes?: Volume[];
  securityContext?: PodSecurityContext;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  nodeSelector?: Record<string, string>;
  terminationGracePeriodSeconds?: number;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  seccompProfile?: { type: string };
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

export type PodSecurityContext = Pick<SecurityContext, 'runAsUser' | 'runAsGroup' | 'runAsNonRoot' | 'seccompProfile'> & { fsGroup?: number };

export interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  /** Always: a native sidecar (in initContainers only). */
  restartPolicy?: string;
  resources?: { limits?: { cpu?: string; memory?: string }; requests?: { cpu?: string; memory?: string } };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
}

const KNOWN = {
  pod: ['containers', 'initContainers', 'volumes', 'securityContext', 'automountServiceAccountToken', 'enableServiceLinks', 'nodeSelector', 'terminationGracePeriodSeconds'],
  podSecurityContext: ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile', 'fsGroup'],
  container: ['name', 'image', 'command', 'args', 'env', 'ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'restartPolicy', 'resources', 'securityContext', 'volumeMounts'],
  securityContext: ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'seccompProfile', 'allowPrivilegeEscalation', 'privileged', 'readOnlyRootFilesystem', 'capabilities'],
  probe: ['httpGet', 'exec', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'],
  httpGet: ['path', 'port'],
  exec: ['command'],
  env: ['name', 'value', 'valueFrom'],
  valueFrom: ['secretKeyRef', 'fieldRef'],
  resources: ['limits', 'requests'],
  resourceList: ['cpu', 'memory'],
  volume: ['name', 'emptyDir'],
  emptyDir: ['medium', 'sizeLimit'],
  volumeMount: ['name', 'mountPath', 'readOnly'],
  port: ['name', 'containerPort', 'protocol'],
  nodeSelector: ['kubernetes.io/arch'],
} as const;

export class UnsupportedPodSpec extends Error {
  override readonly name = 'UnsupportedPodSpec';
}

function refuseUnknown(where: string, value: object | undefined, known: keyof typeof KNOWN): void {
  const unknown = Object.keys(value ?? {}).filter((k) => !(KNOWN[known] as readonly string[]).includes(k));
  if (unknown.length) throw new UnsupportedPodSpec(`${where} sets ${unknown.join(', ')}, which this rehearsal does not reproduce; add it to test/deploy/kubeSemantics.ts`);
}

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL_SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A memory quantity ("512Mi", "1G", "1048576") in bytes. */
function bytesOf(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(quantity);
  if (!m) throw new UnsupportedPodSpec(`memory quantity ${JSON.stringify(quantity)} is not one this rehearsal reads`);
  return Math.round(Number(m[1]) * (BINARY_SUFFIX[m[2]] ?? DECIMAL_SUFFIX[m[2]]));
}

/** A CPU quantity ("500m", "1.5", "2") in millicores. */
function millicoresOf(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity);
  if (!m) throw new UnsupportedPodSpec(`cpu quantity ${JSON.stringify(quantity)} is not one this rehearsal reads`);
  return m[2] ? Number(m[1]) : Math.round(Number(m[1]) * 1000);
}

/** The kubelet's CPU shares for a container's CPU request (cgroup v1 cpu.shares; 2 without a request). */
const cpuSharesFor = (request: string | undefined): number => (request ? Math.max(2, Math.floor((millicoresOf(request) * 1024) / 1000)) : 2);

/** What a rehearsal knows of the node and the objects the pod refers to. */
export interface PodContext {
  /** The pod's name (metadata.name: the Deployment would make one). */
  name: string;
  namespace: string;
  /** The local image that stands for each image reference, and the user it runs as (its USER, "" for root). */
  image(reference: string): { name: string; user: string };
  /** The Secrets of the namespace: name -> key -> value. */
  secrets: Record<string, Record<string, string>>;
  /** The host directory each emptyDir is made in (emptyDirPlan says how). */
  emptyDirPath(volume: string): string;
  /** This host's architecture as Kubernetes names it (amd64, arm64) and its memory in bytes. */
  arch: string;
  memoryBytes: number;
}

/** An emptyDir as the kubelet makes it: a directory, or a tmpfs of `tmpfsBytes`, owned root:`group` with `mode`. */
export interface EmptyDirPlan {
  volume: string;
  path: string;
  tmpfsBytes: number | null;
  group: number;
  mode: number;
}

/** A probe as the kubelet runs it: an httpGet's port resolved to a number. */
export interface ResolvedProbe extends Probe {
  port?: number;
}

export type ProbeKind = 'readiness' | 'liveness' | 'startup';

export interface PodPlan {
  /** The Pod for `podman kube play`. */
  manifest: Record<string, unknown>;
  emptyDirs: EmptyDirPlan[];
  /** Per container: its image reference, its probes and its CPU shares. */
  containers: Record<string, { image: string; probes: Partial<Record<ProbeKind, ResolvedProbe>>; cpuShares: number }>;
  /** The kubelet's start order; a native sidecar holds the next start until its startupProbe passes. */
  startOrder: { name: string; sidecar: boolean }[];
}

/** The effective security context of a container: its own fields over the pod's. */
function effectiveSecurityContext(pod: PodSecurityContext, own: SecurityContext = {}): SecurityContext {
  const { fsGroup: _applied, ...inherited } = pod;
  return { ...inherited, ...own };
}

/** The kubelet's check before it starts a container whose security context says runAsNonRoot. */
function checkRunAsNonRoot(container: string, sc: SecurityContext, imageUser: string): void {
  if (!sc.runAsNonRoot) return;
  if (sc.runAsUser !== undefined) {
    if (sc.runAsUser === 0) throw new UnsupportedPodSpec(`container ${container}: runAsNonRoot and runAsUser 0 (the kubelet refuses to start it: CreateContainerConfigError)`);
    return;
  }
  // No USER: root.
  const uid = imageUser.split(':')[0] || '0';
  if (!/^\d+$/.test(uid)) throw new UnsupportedPodSpec(`container ${container}: runAsNonRoot, and its image's USER ${JSON.stringify(imageUser)} is not a numeric uid (the kubelet refuses to start it)`);
  if (Number(uid) === 0) throw new UnsupportedPodSpec(`container ${container}: runAsNonRoot, and its image runs as root (the kubelet refuses to start it)`);
}

function checkSecurityContext(container: string, sc: SecurityContext): void {
  refuseUnknown(`container ${container}'s securityContext`, sc, 'securityContext');
  if (sc.seccompProfile && sc.seccompProfile.type !== 'RuntimeDefault') throw new UnsupportedPodSpec(`container ${container}: seccompProfile ${sc.seccompProfile.type}; only RuntimeDefault (podman's default profile) is reproduced`);
  if (sc.privileged) throw new UnsupportedPodSpec(`container ${container} is privileged; not reproduced`);
  if (!sc.capabilities?.drop?.includes('ALL')) throw new UnsupportedPodSpec(`container ${container} keeps the runtime's default capabilities, and podman's are not containerd's: drop ALL and add what it needs`);
}

function resolveEnv(container: string, env: EnvVar[], context: PodContext): { name: string; value: string }[] {
  return env.map((e) => {
    refuseUnknown(`container ${container}'s env ${e.name}`, e, 'env');
    if (e.valueFrom === undefined) return { name: e.name, value: e.value ?? '' };
    refuseUnknown(`container ${container}'s env ${e.name}.valueFrom`, e.valueFrom, 'valueFrom');
    const { secretKeyRef, fieldRef } = e.valueFrom;
    if (secretKeyRef) {
      const value = context.secrets[secretKeyRef.name]?.[secretKeyRef.key];
      // The kubelet does not start the container: CreateContainerConfigError.
      if (value === undefined) throw new UnsupportedPodSpec(`container ${container}: env ${e.name} refers to key ${secretKeyRef.key} of Secret ${secretKeyRef.name}, which the namespace does not have`);
      return { name: e.name, value };
    }
    if (fieldRef?.fieldPath === 'metadata.name') return { name: e.name, value: context.name };
    if (fieldRef?.fieldPath === 'metadata.namespace') return { name: e.name, value: context.namespace };
    throw new UnsupportedPodSpec(`container ${container}: env ${e.name} has a valueFrom this rehearsal does not resolve: ${JSON.stringify(e.valueFrom)}`);
  });
}

/** $(VAR) in env values, command or args: the kubelet expands it, podman would pass it on as it is. */
function refuseExpansions(container: string, values: string[]): void {
  const found = values.find((v) => v.includes('$('));
  if (found !== undefined) throw new UnsupportedPodSpec(`container ${container} uses $(VAR) expansion (${JSON.stringify(found.slice(0, 80))}), which this rehearsal does not reproduce`);
}

function resolveProbe(container: Container, probe: Probe | undefined): ResolvedProbe | undefined {
  if (!probe) return undefined;
  refuseUnknown(`container ${container.name}'s probe`, probe, 'probe');
  if (probe.exec) {
    refuseUnknown(`container ${container.name}'s probe.exec`, probe.exec, 'exec');
    return probe;
  }
  if (!probe.httpGet) throw new UnsupportedPodSpec(`container ${container.name}: only httpGet and exec probes are reproduced`);
  refuseUnknown(`container ${container.name}'s probe.httpGet`, probe.httpGet, 'httpGet');
  const { port: given } = probe.httpGet;
  const port = typeof given === 'number' ? given : container.ports?.find((p) => p.name === given)?.containerPort;
  if (port === undefined) throw new UnsupportedPodSpec(`container ${container.name}: a probe names port ${given}, which the container does not declare`);
  return { ...probe, port };
}

/** The pod's memory limit, when every container has one (the kubelet's bound on a Memory emptyDir). */
function podMemoryLimit(containers: Container[]): number | null {
  const limits = containers.map((c) => c.resources?.limits?.memory);
  return limits.every((l) => l !== undefined) ? limits.reduce((sum, l) => sum + bytesOf(l!), 0) : null;
}

function emptyDirPlan(volume: Volume, spec: PodSpec, context: PodContext): EmptyDirPlan {
  refuseUnknown(`volume ${volume.name}`, volume, 'volume');
  if (!volume.emptyDir) throw new UnsupportedPodSpec(`volume ${volume.name}: only emptyDir volumes are reproduced`);
  refuseUnknown(`volume ${volume.name}'s emptyDir`, volume.emptyDir, 'emptyDir');
  const { medium = '', sizeLimit } = volume.emptyDir;
  if (medium !== '' && medium !== 'Memory') throw new UnsupportedPodSpec(`volume ${volume.name}: emptyDir medium ${medium} is not reproduced`);
  const bounds = [context.memoryBytes, podMemoryLimit([...(spec.initContainers ?? []), ...spec.containers]), sizeLimit ? bytesOf(sizeLimit) : null].filter((b): b is number => b !== null && b > 0);
  const fsGroup = spec.securityContext?.fsGroup;
  // A fresh directory is 0777, a tmpfs root 1777; fsGroup adds setgid and group rw(x) and gives it to the group.
  const base = medium === 'Memory' ? 0o1777 : 0o777;
  return {
    volume: volume.name,
    path: context.emptyDirPath(volume.name),
    tmpfsBytes: medium === 'Memory' ? Math.min(...bounds) : null,
    group: fsGroup ?? 0,
    mode: fsGroup === undefined ? base : base | 0o2000 | 0o660 | 0o110,
  };
}

/** The pod the kubelet would run from `spec`, as podman kube play runs it, with what kubePod.ts does besides. */
export function podPlan(spec: PodSpec, context: PodContext): PodPlan {
  refuseUnknown('the pod spec', spec, 'pod');
  refuseUnknown('the pod\'s securityContext', spec.securityContext, 'podSecurityContext');
  refuseUnknown('the pod\'s nodeSelector', spec.nodeSelector, 'nodeSelector');
  const arch = spec.nodeSelector?.['kubernetes.io/arch'];
  if (arch && arch !== context.arch) throw new UnsupportedPodSpec(`the pod asks for ${arch} nodes; this host is ${context.arch} (the pod would stay Pending)`);
  if (spec.automountServiceAccountToken !== false) throw new UnsupportedPodSpec('the pod mounts a service account token; there is no API server in this rehearsal');
  const podSc = spec.securityContext ?? {};
  const emptyDirs = (spec.volumes ?? []).map((v) => emptyDirPlan(v, spec, context));
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') throw new UnsupportedPodSpec(`init container ${c.name} runs to completion; only native sidecars (restartPolicy Always) are reproduced`);
  }
  for (const c of spec.containers) {
    if (c.restartPolicy !== undefined) throw new UnsupportedPodSpec(`container ${c.name} sets restartPolicy, which only init containers may (the API server refuses it)`);
  }
  const sidecars = new Set((spec.initContainers ?? []).map((c) => c.name));
  const all = [...(spec.initContainers ?? []), ...spec.containers];
  const containers: PodPlan['containers'] = {};
  const manifestContainers = all.map((c) => {
    refuseUnknown(`container ${c.name}`, c, 'container');
    refuseUnknown(`container ${c.name}'s resources`, c.resources, 'resources');
    refuseUnknown(`container ${c.name}'s resource limits`, c.resources?.limits, 'resourceList');
    refuseUnknown(`container ${c.name}'s resource requests`, c.resources?.requests, 'resourceList');
    for (const p of c.ports ?? []) refuseUnknown(`container ${c.name}'s port`, p, 'port');
    for (const m of c.volumeMounts ?? []) {
      refuseUnknown(`container ${c.name}'s volumeMount`, m, 'volumeMount');
      if (!emptyDirs.some((d) => d.volume === m.name)) throw new UnsupportedPodSpec(`container ${c.name} mounts volume ${m.name}, which the pod does not have`);
    }
    const sc = effectiveSecurityContext(podSc, c.securityContext);
    checkSecurityContext(c.name, sc);
    const image = context.image(c.image);
    checkRunAsNonRoot(c.name, sc, image.user);
    const env = resolveEnv(c.name, c.env ?? [], context);
    // Only `value`s are expanded, not what comes from a Secret.
    refuseExpansions(c.name, [...(c.env ?? []).flatMap((e) => e.value ?? []), ...(c.command ?? []), ...(c.args ?? [])]);
    containers[c.name] = {
      image: c.image,
      probes: { readiness: resolveProbe(c, c.readinessProbe), liveness: resolveProbe(c, c.livenessProbe), startup: resolveProbe(c, c.startupProbe) },
      cpuShares: cpuSharesFor(c.resources?.requests?.cpu),
    };
    return {
      name: c.name,
      image: image.name,
      ...(c.command ? { command: c.command } : {}),
      ...(c.args ? { args: c.args } : {}),
      env,
      // Requests are the kubelet's business here (CPU shares: kubePod.ts); podman would make requests.memory a soft limit.
      ...(c.resources?.limits ? { resources: { limits: c.resources.limits } } : {}),
      securityContext: sc,
      volumeMounts: c.volumeMounts ?? [],
    };
  });
  return {
    manifest: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: context.name },
      spec: {
        // The kubelet adds fsGroup to every container's groups; podman 4.3 ignores fsGroup but applies these.
        ...(podSc.fsGroup !== undefined ? { securityContext: { supplementalGroups: [podSc.fsGroup] } } : {}),
        restartPolicy: 'Always',
        // Native sidecars as plain containers: kubePod.ts starts them first (startOrder).
        containers: manifestContainers,
        volumes: emptyDirs.map((d) => ({ name: d.volume, hostPath: { path: d.path, type: 'Directory' } })),
      },
    },
    emptyDirs,
    containers,
    startOrder: all.map((c) => ({ name: c.name, sidecar: sidecars.has(c.name) })),
  };
}
