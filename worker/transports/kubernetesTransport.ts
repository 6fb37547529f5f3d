// The kubernetes transport: a batch/v1 Job per execution, in the namespace K8S_NAMESPACE. The job travels in a
// ConfigMap mounted read-only (readable by root only, so the job's own uid cannot read its expectedOutput);
// the runner image starts as uid 0 with every capability dropped except SETUID and SETGID, read-only root,
// no privilege escalation, RuntimeDefault seccomp, memory = requests = limits (Guaranteed QoS, so no swap),
// one CPU, memory-backed /tmp and /workspace, a read-only empty /dev/shm, no service-account token, no
// service links. Network isolation is a NetworkPolicy selecting RUNNER_POD_LABELS, created by
// the infrastructure. The pod's entrypoint is the runner image's sandbox-executor in batch mode
// (runner/sandbox/executor.c): the request every sandbox takes (core/sandbox/wire.ts) comes in as the ConfigMap's
// one file, and each step's report goes out as a line of the pod log, which the worker reads once the Job ended
// and judges (core/judge.ts) as it judges a container's or a sidecar's. With nobody to ask between steps, the pod
// runs every case unless the compile step failed; the judge reads the reports it needs. Job (with its pod) and
// ConfigMap are deleted in `finally`; activeDeadlineSeconds and ttlSecondsAfterFinished bound what a dead worker leaves.
import { randomBytes } from 'node:crypto';
import { ApiException, BatchV1Api, CoreV1Api, KubeConfig, type V1ConfigMap, type V1Job, type V1Pod } from '@kubernetes/client-node';
import type { Job } from '../../core/protocol/job.js';
import { SANDBOX_OVERHEAD_MB, WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import { outcomeWithoutRun, type RunOutcome } from '../../core/protocol/result.js';
import { runnerKilledForMemory } from '../../core/verdict.js';
import { planJob } from '../../core/judge.js';
import { phaseClock } from '../../core/phaseClock.js';
import { encodeRequest, judgeInSandbox, SandboxEnded, stepReportOf, u32, withJudgedPhases, type StepSession } from '../../core/sandbox/wire.js';
import type { StepResult } from '../../core/judge.js';
import { containerLabels, LABEL_DEPLOYMENT, LABEL_MANAGED, LABEL_OWNER, RUNNER_POD_LABELS } from '../../core/labels.js';
import type { SandboxOwner } from '../../core/sandboxOwner.js';
import { jobDeadlineMs, runnerOutputCapBytes } from '../../core/protocol/runnerOutput.js';
import { TransportError } from '../../core/errors.js';
import type { RunnerTransport } from './transport.js';

export interface KubernetesTransportOptions {
  /** Namespace of the Jobs, pods and ConfigMaps (K8S_NAMESPACE). */
  namespace: string;
  /** The runner image (RUNNER_IMAGE), pullable by the cluster's nodes. */
  image: string;
  /** The deployment (core/sandboxOwner.ts) and this worker instance, on its Jobs and ConfigMaps, for the reaper. */
  deployment: string;
  ownerId: string;
  /** Defaults to KubeConfig.loadFromDefault(): $KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  kubeConfig?: KubeConfig;
  /** How often the Job's status is read. Defaults to 500 ms. */
  pollIntervalMs?: number;
  /** How long to wait for a Job to finish. Defaults to its activeDeadlineSeconds plus 15 s. */
  waitTimeoutMs?: (job: Job) => number;
  /** How long Kubernetes keeps a finished Job the worker could not delete. Defaults to 60 s. */
  ttlSecondsAfterFinished?: number;
}

const CONTAINER = 'runner';
const JOB_DIR = '/job';
const REQUEST_FILE = 'request';
/** Kubernetes refuses a ConfigMap over 1 MiB; keep room for its metadata. The request is in it as base64. */
export const CONFIGMAP_MAX_JOB_BYTES = 1_000_000;
/** The executor's own messages (stderr) share the pod log with the reports. */
const RUNNER_LOG_ALLOWANCE_BYTES = 64 * 1024;
/** How a report's line starts in the pod log (SANDBOX_FRAME_LINE in runner/sandbox/sandbox.h). */
export const FRAME_LINE = 'sandbox-frame:';
/** Waiting reasons a pod does not recover from within one job's deadline: fail now, let another attempt retry. */
const STUCK_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError']);
/** Pods are checked for those reasons every this many status polls. */
const POD_CHECK_EVERY = 4;
/** Set by the Job controller on the pods of a Job (Kubernetes ≥ 1.27). */
const LABEL_JOB_NAME = 'batch.kubernetes.io/job-name';

/** A DNS-1123 name readable as the job's, unique per attempt (a redelivered job may meet its last Job). */
export function runnerJobName(job: Job): string {
  const slug = job.id.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+/, '').slice(0, 40).replace(/-+$/, '');
  return `run-${slug || 'job'}-${randomBytes(4).toString('hex')}`;
}

/**
 * Labels select (the reaper's list, by deployment; the NetworkPolicy); annotations say whose: owner and job ids
 * may not fit a label value (63 characters, alphanumeric at both ends). The deployment id does (12 hex digits).
 */
function runnerMetadata(name: string, namespace: string, job: Job, owner: SandboxOwner) {
  return {
    name,
    namespace,
    labels: { [LABEL_MANAGED]: 'true', [LABEL_DEPLOYMENT]: owner.deployment, ...RUNNER_POD_LABELS },
    annotations: containerLabels(owner, job.id),
  };
}

/** The request as the executor reads it from its file: u32 length | request. */
export function runnerConfigMap(job: Job, name: string, opts: KubernetesTransportOptions, request: Buffer): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: runnerMetadata(name, opts.namespace, job, opts),
    immutable: true,
    binaryData: { [REQUEST_FILE]: Buffer.concat([u32(request.length), request]).toString('base64') },
  };
}

export function runnerJobSpec(job: Job, name: string, opts: KubernetesTransportOptions): V1Job {
  const metadata = runnerMetadata(name, opts.namespace, job, opts);
  const memory = `${job.memoryLimitMb + SANDBOX_OVERHEAD_MB}Mi`;
  // The pod log holds the reports: it counts as the container's ephemeral storage (root is read-only).
  const storage = `${Math.ceil((runnerOutputCapBytes(job) + RUNNER_LOG_ALLOWANCE_BYTES) / (1 << 20)) + 16}Mi`;
  const resources = { cpu: '1', memory, 'ephemeral-storage': storage };
  const tmpfs = { medium: 'Memory', sizeLimit: `${WORKSPACE_SIZE_MB}Mi` };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil(jobDeadlineMs(job) / 1000),
      ttlSecondsAfterFinished: opts.ttlSecondsAfterFinished ?? 60,
      template: {
        metadata: { labels: metadata.labels, annotations: metadata.annotations },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          hostNetwork: false,
          hostPID: false,
          hostIPC: false,
          terminationGracePeriodSeconds: 1,
          securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: CONTAINER,
              image: opts.image,
              imagePullPolicy: 'IfNotPresent',
              // The executor makes the emptyDir volumes (0777) sticky, as Docker's mode=1777 tmpfs are, so that a
              // case cannot delete what the compile step made.
              command: ['/opt/runner/sandbox-executor', '--batch', `${JOB_DIR}/${REQUEST_FILE}`],
              workingDir: '/workspace',
              env: [],
              resources: { requests: resources, limits: resources },
              securityContext: {
                runAsUser: 0,
                runAsGroup: 0,
                runAsNonRoot: false,
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'job', mountPath: JOB_DIR, readOnly: true },
                { name: 'workspace', mountPath: '/workspace' },
                { name: 'tmp', mountPath: '/tmp' },
                // Docker's --ipc none: no writable /dev/shm, a third tmpfs outside every budget.
                { name: 'no-shm', mountPath: '/dev/shm', readOnly: true },
              ],
            },
          ],
          volumes: [
            // 0400 root: the executor reads the request; the job's own uids cannot.
            { name: 'job', configMap: { name, defaultMode: 0o400, items: [{ key: REQUEST_FILE, path: REQUEST_FILE }] } },
            { name: 'workspace', emptyDir: tmpfs },
            { name: 'tmp', emptyDir: tmpfs },
            { name: 'no-shm', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
          ],
        },
      },
    },
  };
}

/**
 * The step reports in a pod log, as a session the judge reads them from. The log interleaves the executor's stderr
 * with its report lines, so only lines that start with FRAME_LINE count; a log cut short (the pod killed) ends the
 * session early, and the judge's SandboxEnded says so.
 */
export function podLogSession(log: string, limitBytes: number, context: string): StepSession {
  if (Buffer.byteLength(log) >= limitBytes) throw new TransportError(`runner output over its cap of ${limitBytes} bytes (${context})`);
  const frames: Buffer[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith(FRAME_LINE)) continue;
    const frame = Buffer.from(line.slice(FRAME_LINE.length), 'base64');
    // A whole frame: u32 length | body; a line the kill cut short is not one.
    if (frame.length >= 5 && frame.readUInt32LE(0) === frame.length - 4) frames.push(frame.subarray(4));
  }
  let next = 0;
  return {
    async report(merged: boolean): Promise<StepResult> {
      const body = frames[next++];
      const frame = body && { type: String.fromCharCode(body[0]), payload: body.subarray(1) };
      return stepReportOf(frame, merged, 'in the pod log', `the pod log holds no more reports (${context}): ${log.trim().slice(-300) || 'empty log'}`);
    },
    decide() {},
  };
}

type JobEnd = { succeeded: boolean; reason: string };

function jobEnd(job: V1Job): JobEnd | null {
  const s = job.status ?? {};
  const condition = s.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (condition) return { succeeded: condition.type === 'Complete', reason: [condition.reason, condition.message].filter(Boolean).join(': ') || condition.type };
  if ((s.succeeded ?? 0) > 0) return { succeeded: true, reason: 'succeeded' };
  if ((s.failed ?? 0) > 0) return { succeeded: false, reason: 'pod failed' };
  return null;
}

function runnerStatus(pod: V1Pod) {
  return pod.status?.containerStatuses?.find((c) => c.name === CONTAINER);
}

/** The API server's own message (a Status object's `message`), not the client's dump of headers. */
function describeError(err: unknown): string {
  if (!(err instanceof ApiException)) return (err as Error).message;
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // Not JSON: keep the text.
    }
  }
  const message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
  return `Kubernetes API answered ${err.code}${message ? `: ${String(message).slice(0, 300)}` : ''}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class KubernetesTransport implements RunnerTransport {
  readonly mode = 'kubernetes' as const;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  /** Names of the Jobs (and their ConfigMaps) of jobs in flight. */
  private readonly active = new Set<string>();
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: KubernetesTransportOptions) {
    const kc = opts.kubeConfig ?? new KubeConfig();
    if (!opts.kubeConfig) kc.loadFromDefault();
    this.batch = kc.makeApiClient(BatchV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async run(job: Job): Promise<RunOutcome> {
    const clock = phaseClock();
    const plan = planJob(job);
    const configMap = runnerConfigMap(job, runnerJobName(job), this.opts, encodeRequest(plan));
    const name = configMap.metadata!.name!;
    const bytes = configMap.binaryData![REQUEST_FILE].length;
    if (bytes > CONFIGMAP_MAX_JOB_BYTES) {
      // Deterministic: every attempt would fail the same way, so this is the producer's to fix.
      return outcomeWithoutRun(
        'rejected',
        `job is ${bytes} bytes as the ConfigMap's base64 request; the kubernetes runner mode carries a job in a ConfigMap, at most ${CONFIGMAP_MAX_JOB_BYTES} bytes (lower MAX_STDIN_BYTES and MAX_CODE_BYTES to stay under it)`,
      );
    }
    const { namespace } = this.opts;
    this.active.add(name);
    try {
      await this.core.createNamespacedConfigMap({ namespace, body: configMap });
      await this.batch.createNamespacedJob({ namespace, body: runnerJobSpec(job, name, this.opts) });
      clock.lap('sandboxMs');
      const end = await this.waitForEnd(name, job);
      clock.lap('runMs');
      return withJudgedPhases(await this.outcome(name, job, plan, end), clock);
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw new TransportError(`kubernetes transport failed for job ${job.id} (Job ${namespace}/${name}): ${describeError(err)}`);
    } finally {
      this.active.delete(name);
      await this.remove(name);
    }
  }

  private async waitForEnd(name: string, job: Job): Promise<JobEnd> {
    const timeoutMs = this.opts.waitTimeoutMs?.(job) ?? Math.ceil(jobDeadlineMs(job) / 1000) * 1000 + 15_000;
    const deadline = Date.now() + timeoutMs;
    for (let poll = 1; ; poll++) {
      if (this.closing) throw new TransportError(`worker closing: Job ${name} abandoned`);
      const end = jobEnd(await this.batch.readNamespacedJob({ name, namespace: this.opts.namespace }));
      if (end) return end;
      if (poll % POD_CHECK_EVERY === 0) await this.failIfStuck(name);
      const left = deadline - Date.now();
      if (left <= 0) throw new TransportError(`runner Job ${name} gave no result within ${timeoutMs} ms`);
      await sleep(Math.min(this.opts.pollIntervalMs ?? 500, left));
    }
  }

  /** An image that cannot be pulled or a container that cannot be created only ends at the deadline: fail now. */
  private async failIfStuck(name: string): Promise<void> {
    for (const pod of await this.pods(name)) {
      const waiting = runnerStatus(pod)?.state?.waiting;
      if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) {
        throw new TransportError(`runner pod ${pod.metadata?.name} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`);
      }
    }
  }

  private async pods(jobName: string): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({ namespace: this.opts.namespace, labelSelector: `${LABEL_JOB_NAME}=${jobName}` });
    return list.items;
  }

  private async outcome(name: string, job: Job, plan: ReturnType<typeof planJob>, end: JobEnd): Promise<RunOutcome> {
    // backoffLimit 0 and restartPolicy Never: one pod, unless it never got created.
    const pods = await this.pods(name);
    const pod = pods.find((p) => runnerStatus(p)?.state?.terminated) ?? pods[0];
    if (!pod?.metadata?.name) throw new TransportError(`runner Job ${name} ended without a pod (${end.reason})`);
    const terminated = runnerStatus(pod)?.state?.terminated;
    const limitBytes = runnerOutputCapBytes(job) + RUNNER_LOG_ALLOWANCE_BYTES;
    const context = `Job ${name} ${end.succeeded ? 'succeeded' : 'failed'} (${end.reason}), pod ${pod.metadata.name}` +
      (terminated ? ` exit ${terminated.exitCode}${terminated.reason ? ` ${terminated.reason}` : ''}` : '');
    try {
      const log = await this.core.readNamespacedPodLog({ name: pod.metadata.name, namespace: this.opts.namespace, container: CONTAINER, limitBytes });
      // The phases of the pod's steps are the pod's; the worker's clock saw only the Job's whole life.
      return await judgeInSandbox(job, plan, podLogSession(log, limitBytes, context), phaseClock());
    } catch (error) {
      if (terminated?.reason === 'OOMKilled') return runnerKilledForMemory(job);
      if (error instanceof SandboxEnded) throw new TransportError(`the runner pod ended before the job's outcome: ${error.message}`);
      if (error instanceof TransportError) throw error;
      throw new TransportError(`cannot read the runner's log (${context}): ${describeError(error)}`);
    }
  }

  /** Deletes a Job with its pod, and its ConfigMap; what is already gone is fine. */
  private async remove(name: string): Promise<void> {
    const { namespace } = this.opts;
    await Promise.all([
      this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }).catch(() => {}),
      this.core.deleteNamespacedConfigMap({ name, namespace }).catch(() => {}),
    ]);
  }

  /**
   * Removes this deployment's Jobs (with their pods) and ConfigMaps whose owner is no longer alive. Returns how
   * many sandboxes: a Job and its ConfigMap share a name and count once. Other deployments' in the namespace are
   * never listed: whether their owners are alive is in a Redis this worker does not see.
   */
  async reapOrphans(isOwnerAlive: (ownerId: string) => Promise<boolean>): Promise<number> {
    const { namespace, ownerId } = this.opts;
    const labelSelector = `${LABEL_MANAGED}=true,${LABEL_DEPLOYMENT}=${this.opts.deployment}`;
    const alive = new Map<string, boolean>();
    const orphaned = async (annotations: Record<string, string> | undefined): Promise<boolean> => {
      const owner = annotations?.[LABEL_OWNER];
      if (owner === ownerId) return false;
      if (!owner) return true;
      if (!alive.has(owner)) alive.set(owner, await isOwnerAlive(owner));
      return !alive.get(owner);
    };
    const reaped = new Set<string>();
    for (const j of (await this.batch.listNamespacedJob({ namespace, labelSelector })).items) {
      if (!j.metadata?.name || !(await orphaned(j.metadata.annotations))) continue;
      await this.batch.deleteNamespacedJob({ name: j.metadata.name, namespace, propagationPolicy: 'Background' }).catch(() => {});
      reaped.add(j.metadata.name);
    }
    for (const c of (await this.core.listNamespacedConfigMap({ namespace, labelSelector })).items) {
      if (!c.metadata?.name || !(await orphaned(c.metadata.annotations))) continue;
      await this.core.deleteNamespacedConfigMap({ name: c.metadata.name, namespace }).catch(() => {});
      reaped.add(c.metadata.name);
    }
    return reaped.size;
  }

  /** A Job's image is pulled by the cluster, out of this worker's sight: every language is tried, none is known. */
  async languages(): Promise<null> {
    return null;
  }

  /** Deletes the Jobs of jobs still running: their entries stay pending for another worker. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all([...this.active].map((name) => this.remove(name))).then(() => {});
    return this.closing;
  }
}
