// Pods started on this machine with Debian's podman (`podman kube play`) as the kubelet would start them, from the
// plan kubeSemantics.ts makes of a pod spec: the images `npm run images` built copied from Docker into podman's
// storage (once per image id), each emptyDir made as the kubelet makes it, the pod created on podman's default
// network and its sandbox started, then its containers started one by one in the kubelet's order (a native sidecar's
// startupProbe passing before the next; a given pull time before a container whose image a node would pull), CPU
// shares set, and its probes run from this host. Pods are named by the test (testContainerName) and only those are
// touched; stop() removes the pod and what was made for it.
// Host specifics: podman runs containers with RLIMIT_NOFILE and RLIMIT_NPROC from its containers.conf, by default
// higher than a host with lower hard limits can grant (runc then fails with EPERM): the rehearsal's own
// containers.conf asks for this process's hard RLIMIT_NOFILE and for RLIMIT_NPROC at most kernel.pid_max (what
// podman's runtime processes are left with). `podman kube play` builds its pause image with catatonit (no registry).
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { stringify } from 'yaml';
import { testContainerName } from '../support/sandboxClaims.js';
import { availableOrSkip } from '../support/serviceCheck.js';
import { DOCKER_SOCKET } from '../support/services.js';
import { podPlan, type PodPlan, type PodSpec, type ProbeKind, type ResolvedProbe } from './kubeSemantics.js';

const run = promisify(execFile);

/** The podman network the pods join (its bridge's gateway is where this host is reached from them). */
const POD_NETWORK = 'podman';

/** The rehearsal's containers.conf (see the header): one file per pair of limits, kept for later runs. */
function containersConf(): string {
  const hard = (name: string) => {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
    const value = line?.trim().split(/\s{2,}/)[2];
    return value === undefined || value === 'unlimited' ? Infinity : Number(value);
  };
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const nofile = Math.min(hard('Max open files'), 1_048_576);
  const nproc = Math.min(hard('Max processes'), pidMax);
  const conf = join(tmpdir(), `code-execution-rehearsal-podman-${nofile}-${nproc}.conf`);
  if (!existsSync(conf)) writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]\n`);
  return conf;
}

async function podman(args: string[]): Promise<string> {
  try {
    return (await run('podman', args, { env: { ...process.env, CONTAINERS_CONF: containersConf() }, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`podman ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** Runs `argv` with `input` piped into its stdin; resolves with its stdout. */
function pipeInto(argv: string[], input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')} exited ${code}: ${err}`))));
    input.pipe(child.stdin);
  });
}

async function podmanProblem(): Promise<string | null> {
  try {
    await podman(['info', '--format', '{{.Host.OCIRuntime.Name}}']);
  } catch (err) {
    return `podman does not run (bash scripts/install-deps.sh installs it): ${(err as Error).message.split('\n')[0]}`;
  }
  try {
    await run('sh', ['-c', 'command -v catatonit']);
  } catch {
    return 'catatonit missing: podman kube play builds its pause image with it (bash scripts/install-deps.sh)';
  }
  return process.getuid?.() === 0 ? null : 'not root: the pods run under rootful podman and their emptyDirs are tmpfs mounts';
}

/** true when pods can be played; false (after a loud warning) when they may be skipped; throws under CI. */
export async function podmanAvailable(): Promise<boolean> {
  return availableOrSkip('podman', await podmanProblem());
}

/** A Docker image as podman knows it after the copy. */
interface PodmanImage {
  name: string;
  /** Its USER ("" for root). */
  user: string;
}

const REHEARSAL_REPOSITORY = 'localhost/code-execution-rehearsal';

/**
 * Copies the Docker image `reference` into podman's storage, unless an image of its id is there already (the ids
 * agree: `docker save` keeps the image's config), tagged by that id; copies of older ids are removed.
 */
export async function podmanImage(reference: string): Promise<PodmanImage> {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  const { Id: id, Config } = await docker.getImage(reference).inspect();
  const short = id.replace(/^sha256:/, '').slice(0, 12);
  const repository = `${REHEARSAL_REPOSITORY}/${reference.replace(/:[^:/]+$/, '').split('/').pop()}`;
  const name = `${repository}:${short}`;
  const present = await podman(['image', 'exists', id]).then(() => true, () => false);
  if (!present) {
    const started = Date.now();
    // Saved by id: the archive names no repository, so the copy has only the rehearsal's tag (and prunes cleanly).
    await pipeInto(['podman', 'load'], (await docker.getImage(id).get()) as NodeJS.ReadableStream);
    console.log(JSON.stringify({ msg: 'copied a Docker image into podman', image: reference, id: short, seconds: Math.round((Date.now() - started) / 100) / 10 }));
  }
  await podman(['tag', id, name]);
  const stale = (await podman(['images', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}', '--filter', `reference=${repository}`]))
    .split('\n').map((l) => l.split(' ')).filter(([imageId, tagged]) => imageId && !id.includes(imageId) && tagged);
  for (const [, tagged] of stale) await podman(['untag', tagged]).catch(() => {});
  for (const [imageId] of stale) await podman(['rmi', imageId]).catch(() => {});
  return { name, user: Config.User ?? '' };
}

/** podman's network as the pods see it: where this host is (the bridge's gateway) and their subnet. */
export interface PodNetwork {
  gateway: string;
  subnet: string;
  /** Removes the pod that holds the bridge up. */
  close(): Promise<void>;
}

/**
 * podman makes its network's bridge, and so the gateway address services must listen on, when the first container
 * joins it: an infra-only pod of the test's holds it up until close().
 */
export async function openPodNetwork(): Promise<PodNetwork> {
  const [network] = JSON.parse(await podman(['network', 'inspect', POD_NETWORK])) as { subnets?: { subnet: string; gateway: string }[] }[];
  const ipv4 = network.subnets?.find((s) => !s.subnet.includes(':'));
  if (!ipv4) throw new Error(`podman network ${POD_NETWORK} has no IPv4 subnet: ${JSON.stringify(network)}`);
  const holder = testContainerName('kube-network');
  await podman(['pod', 'create', '--name', holder, '--network', POD_NETWORK]);
  const close = async () => void (await podman(['pod', 'rm', '--force', '--time', '0', holder]).catch(() => {}));
  try {
    await podman(['pod', 'start', holder]);
  } catch (err) {
    await close();
    throw err;
  }
  return { gateway: ipv4.gateway, subnet: ipv4.subnet, close };
}

export interface ProbeAnswer {
  /** The kubelet's verdict: a 2xx or 3xx status (httpGet), or exit 0 (exec), within timeoutSeconds. */
  ok: boolean;
  status?: number;
  body?: Record<string, unknown>;
  error?: string;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface RunningPod {
  name: string;
  /** The pod's IP address on POD_NETWORK. */
  ip: string;
  plan: PodPlan;
  /** Settles when the kubelet would have started every container (or failed to). */
  started: Promise<void>;
  /** One attempt of the container's probe of that kind, as the kubelet makes it. */
  probe(container: string, kind: ProbeKind): Promise<ProbeAnswer>;
  /** The container's log so far (stdout and stderr). */
  logs(container: string): Promise<string>;
  /** The container's state (created: not started yet), its exit code, and how often podman restarted it. */
  state(container: string): Promise<{ status: ContainerStatus; exitCode: number; restarts: number }>;
  /** Removes the pod and its emptyDirs. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPodOptions {
  /** What the pod is for: its name is testContainerName(purpose). */
  purpose: string;
  namespace: string;
  /** The Docker image that stands for each image reference of the spec. */
  image(reference: string): string;
  /** The Secrets of the namespace: name -> key -> value. */
  secrets: Record<string, Record<string, string>>;
  /**
   * Seconds a node without the image would take to pull it, by the spec's image reference: the kubelet pulls a
   * container's image right before starting it (the images are local here; none by default).
   */
  pullSeconds?: Record<string, number>;
}

const KUBE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

async function probeOnce(ip: string, container: string, probe: ResolvedProbe): Promise<ProbeAnswer> {
  const timeout = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.exec) {
    try {
      await run('podman', ['exec', container, ...probe.exec.command], { timeout });
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as { stderr?: string }).stderr || (err as Error).message };
    }
  }
  try {
    const res = await fetch(`http://${ip}:${probe.port}${probe.httpGet!.path}`, { signal: AbortSignal.timeout(timeout) });
    const text = await res.text();
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { ok: res.status >= 200 && res.status < 400, status: res.status, body };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Makes an emptyDir as the kubelet does: directory, tmpfs when asked (its path added to `mounts`), then the fsGroup's ownership and mode. */
async function makeEmptyDir(dir: PodPlan['emptyDirs'][number], mounts: string[]): Promise<void> {
  mkdirSync(dir.path, { mode: 0o777 });
  if (dir.tmpfsBytes !== null) {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${dir.tmpfsBytes}`, 'tmpfs', dir.path]);
    mounts.push(dir.path);
  }
  chownSync(dir.path, 0, dir.group);
  chmodSync(dir.path, dir.mode);
}

/** Plays `spec` (a Deployment's pod template spec) as one pod of the kubelet's, on POD_NETWORK. */
export async function startKubePod(spec: PodSpec, options: StartPodOptions): Promise<RunningPod> {
  const name = testContainerName(options.purpose);
  const root = mkdtempSync(join(tmpdir(), 'kube-pod-'));
  const images = new Map<string, PodmanImage>();
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) images.set(c.image, await podmanImage(options.image(c.image)));
  const plan = podPlan(spec, {
    name,
    namespace: options.namespace,
    image: (reference) => images.get(reference)!,
    secrets: options.secrets,
    emptyDirPath: (volume) => join(root, volume),
    arch: KUBE_ARCH[arch()] ?? arch(),
    memoryBytes: totalmem(),
  });
  const mounted: string[] = [];
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      await podman(['pod', 'rm', '--force', '--time', '0', name]).catch(() => {});
      for (const path of mounted) await run('umount', [path]).catch(() => {});
      rmSync(root, { recursive: true, force: true });
    })());
  const container = (c: string) => `${name}-${c}`;
  let ip: string;
  try {
    for (const dir of plan.emptyDirs) await makeEmptyDir(dir, mounted);
    const manifest = join(root, 'pod.yaml');
    writeFileSync(manifest, stringify(plan.manifest), { mode: 0o600 });
    await podman(['kube', 'play', '--start=false', '--network', POD_NETWORK, manifest]);
    // The pod's sandbox first: its network namespace and address.
    const infra = (await podman(['pod', 'inspect', name, '--format', '{{.InfraContainerID}}'])).trim();
    await podman(['start', infra]);
    ip = (await podman(['inspect', infra, '--format', `{{(index .NetworkSettings.Networks "${POD_NETWORK}").IPAddress}}`])).trim();
  } catch (err) {
    await stop();
    throw err;
  }
  const probe = (c: string, kind: ProbeKind) => {
    const p = plan.containers[c]?.probes[kind];
    if (!p) throw new Error(`container ${c} of pod ${name} has no ${kind} probe`);
    return probeOnce(ip, container(c), p);
  };
  const started = (async () => {
    for (const { name: c, sidecar } of plan.startOrder) {
      const pull = options.pullSeconds?.[plan.containers[c].image] ?? 0;
      if (pull) await new Promise((r) => setTimeout(r, pull * 1000));
      if (stopped) throw new Error(`pod ${name} was removed while it started`);
      await podman(['start', container(c)]);
      await podman(['update', '--cpu-shares', String(plan.containers[c].cpuShares), container(c)]);
      const startup = plan.containers[c].probes.startup;
      if (!sidecar || !startup) continue;
      // The next start waits for the sidecar's startup probe; after failureThreshold failures the kubelet would
      // restart the sidecar, which this rehearsal reports instead.
      const period = (startup.periodSeconds ?? 10) * 1000;
      let last: ProbeAnswer = { ok: false };
      for (let failures = 0; !(last = await probe(c, 'startup')).ok; ) {
        if (stopped) throw new Error(`pod ${name} was removed while it started`);
        if (++failures >= (startup.failureThreshold ?? 3)) throw new Error(`the startup probe of sidecar ${c} in pod ${name} failed ${failures} times (${last.error ?? last.status})`);
        await new Promise((r) => setTimeout(r, period));
      }
    }
  })();
  // Observed through `started`; not an unhandled rejection meanwhile.
  started.catch(() => {});
  return {
    name,
    ip,
    plan,
    started,
    probe,
    async logs(c) {
      try {
        const { stdout, stderr } = await run('podman', ['logs', container(c)], { maxBuffer: 64 * 1024 * 1024 });
        return stdout + stderr;
      } catch (err) {
        return `(no log: ${(err as Error).message})`;
      }
    },
    async state(c) {
      const [inspected] = JSON.parse(await podman(['inspect', container(c)])) as { State: { Status: string; ExitCode: number }; RestartCount?: number }[];
      const status: ContainerStatus = inspected.State.Status === 'running' ? 'running' : ['created', 'configured'].includes(inspected.State.Status) ? 'created' : 'exited';
      return { status, exitCode: inspected.State.ExitCode, restarts: inspected.RestartCount ?? 0 };
    },
    stop,
  };
}
