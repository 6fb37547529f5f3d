// A stand-in for the Kubernetes API server, for the kubernetes transport's contract tests: only the endpoints
// the transport uses, answering with the objects a real API server returns (apiVersion, kind, metadata,
// status; Status objects for errors and deletions; text/plain pod logs), so the real client deserializes
// them. It records every request, and plays each created Job's pod as the test scripts it.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { freePort } from './freePort.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  authorization: string | undefined;
}

/** How a created Job's pod behaves. */
export interface PodScript {
  /** Job status reads answered "active" before the end shows. Defaults to 1. */
  activeReads?: number;
  /** How the Job ends; `never` keeps it active forever. */
  end: 'succeeded' | 'failed' | 'never';
  /** The runner container's state once the Job ended. */
  terminated?: { exitCode: number; reason: string };
  /** The runner container's state while the Job is active. Defaults to running. */
  waiting?: { reason: string; message: string };
  /** The Job's final condition, as the Job controller sets it. Defaults to Complete / BackoffLimitExceeded. */
  condition?: { reason: string; message: string };
  /** What the pod log holds (stdout and stderr interleaved). */
  log?: string;
}

type K8sObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

export const FAKE_TOKEN = 'fake-service-account-token';

function status(code: number, reason: string, message: string, details: Record<string, unknown> = {}) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: code < 300 ? 'Success' : 'Failure', message, reason, details, code };
}

function matches(selector: string | null, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels?.[key] === value;
  });
}

export class FakeKubernetes extends EventEmitter {
  readonly requests: RecordedRequest[] = [];
  /** Requests to endpoints this fake does not serve: the transport should make none. */
  readonly unexpected: RecordedRequest[] = [];
  readonly configMaps = new Map<string, K8sObject>();
  readonly jobs = new Map<string, K8sObject>();
  readonly pods = new Map<string, K8sObject>();
  /** Scripts the pod of every Job created from now on. */
  script: (job: K8sObject) => PodScript = () => ({ end: 'never' });
  /** Answer the next request matching method and path prefix with this error. */
  failNext: { method: string; pathIncludes: string; code: number; reason: string; message: string } | null = null;
  private readonly scripts = new Map<string, { script: PodScript; reads: number }>();
  private server: Server | undefined;
  private port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', resolve);
    });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What a worker would load from a kubeconfig file pointing at this server. */
  kubeConfigOptions() {
    return {
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'worker', token: FAKE_TOKEN }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'worker' }],
      currentContext: 'fake',
    };
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions(this.kubeConfigOptions());
    return kc;
  }

  /** Forgets every object, request and script: each test starts from an empty cluster. */
  reset(): void {
    for (const store of [this.requests, this.unexpected]) store.length = 0;
    for (const store of [this.configMaps, this.jobs, this.pods, this.scripts]) store.clear();
    this.script = () => ({ end: 'never' });
    this.failNext = null;
  }

  /** Requests with this method whose path ends with the suffix. */
  find(method: string, pathSuffix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.endsWith(pathSuffix));
  }

  /** An object as if a worker (maybe a dead one) had created it earlier. */
  seed(kind: 'Job' | 'ConfigMap', namespace: string, name: string, labels: Record<string, string>, annotations: Record<string, string>): void {
    const metadata = { name, namespace, labels, annotations, uid: randomUUID(), resourceVersion: '1', creationTimestamp: new Date().toISOString() };
    if (kind === 'Job') this.jobs.set(`${namespace}/${name}`, { apiVersion: 'batch/v1', kind, metadata, spec: { template: { spec: { containers: [] } } }, status: { active: 1 } });
    else this.configMaps.set(`${namespace}/${name}`, { apiVersion: 'v1', kind, metadata, data: {} });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const raw = Buffer.concat(chunks).toString('utf8');
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body: raw ? JSON.parse(raw) : undefined,
      authorization: req.headers.authorization,
    };
    this.requests.push(request);
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (request.authorization !== `Bearer ${FAKE_TOKEN}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const failure = this.failNext;
    if (failure && failure.method === request.method && request.path.includes(failure.pathIncludes)) {
      this.failNext = null;
      return send(failure.code, status(failure.code, failure.reason, failure.message));
    }
    const route = this.route(request);
    if (!route) {
      this.unexpected.push(request);
      return send(404, status(404, 'NotFound', `the fake API server does not serve ${request.method} ${request.path}`));
    }
    const [code, body, contentType] = route;
    if (contentType === 'text/plain') {
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(body as string);
    } else send(code, body);
    this.emit('request', request);
  }

  private route(r: RecordedRequest): [number, unknown, string?] | null {
    let m: RegExpMatchArray | null;
    if ((m = r.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/))) return this.configMapRoute(r, m[1], m[2]);
    if ((m = r.path.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/]+))?$/))) return this.jobRoute(r, m[1], m[2]);
    if ((m = r.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/)) && r.method === 'GET') {
      return [200, this.list('v1', 'PodList', this.pods, m[1], r.query.get('labelSelector'))];
    }
    if ((m = r.path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/)) && r.method === 'GET') {
      const pod = this.pods.get(`${m[1]}/${m[2]}`);
      if (!pod) return [404, status(404, 'NotFound', `pods "${m[2]}" not found`, { name: m[2], kind: 'pods' })];
      const log = this.scripts.get(pod.metadata.labels!['batch.kubernetes.io/job-name'])?.script.log ?? '';
      const limit = Number(r.query.get('limitBytes') ?? Infinity);
      return [200, Buffer.from(log).subarray(0, limit).toString('utf8'), 'text/plain'];
    }
    return null;
  }

  private list(apiVersion: string, kind: string, store: Map<string, K8sObject>, namespace: string, selector: string | null) {
    // Items of a list carry no apiVersion and kind, as the real API server sends them.
    const items = [...store.values()]
      .filter((o) => o.metadata.namespace === namespace && matches(selector, o.metadata.labels))
      .map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    return { apiVersion, kind, metadata: { resourceVersion: '100' }, items };
  }

  private configMapRoute(r: RecordedRequest, namespace: string, name: string | undefined): [number, unknown] | null {
    if (!name && r.method === 'GET') return [200, this.list('v1', 'ConfigMapList', this.configMaps, namespace, r.query.get('labelSelector'))];
    if (!name && r.method === 'POST') {
      const body = r.body as K8sObject;
      const key = `${namespace}/${body.metadata.name}`;
      if (body.kind !== 'ConfigMap') return [400, status(400, 'BadRequest', `expected a ConfigMap, got ${body.kind}`)];
      if (this.configMaps.has(key)) return [409, status(409, 'AlreadyExists', `configmaps "${body.metadata.name}" already exists`)];
      const created = { ...body, metadata: { ...body.metadata, namespace, uid: randomUUID(), resourceVersion: '1', creationTimestamp: new Date().toISOString() } };
      this.configMaps.set(key, created);
      return [201, created];
    }
    if (name && r.method === 'DELETE') {
      if (!this.configMaps.delete(`${namespace}/${name}`)) return [404, status(404, 'NotFound', `configmaps "${name}" not found`, { name, kind: 'configmaps' })];
      return [200, status(200, '', '', { name, kind: 'configmaps' })];
    }
    return null;
  }

  private jobRoute(r: RecordedRequest, namespace: string, name: string | undefined): [number, unknown] | null {
    if (!name && r.method === 'GET') return [200, this.list('batch/v1', 'JobList', this.jobs, namespace, r.query.get('labelSelector'))];
    if (!name && r.method === 'POST') return this.createJob(r.body as K8sObject, namespace);
    const key = `${namespace}/${name}`;
    const job = this.jobs.get(key);
    const notFound: [number, unknown] = [404, status(404, 'NotFound', `jobs.batch "${name}" not found`, { name, group: 'batch', kind: 'jobs' })];
    if (name && r.method === 'GET') {
      if (!job) return notFound;
      this.advance(job);
      return [200, job];
    }
    if (name && r.method === 'DELETE') {
      if (!job) return notFound;
      this.jobs.delete(key);
      // propagationPolicy=Background: the garbage collector removes the pods soon after; here, at once.
      for (const [podKey, pod] of this.pods) if (pod.metadata.labels?.['batch.kubernetes.io/job-name'] === name) this.pods.delete(podKey);
      return [200, status(200, '', '', { name, group: 'batch', kind: 'jobs', uid: job.metadata.uid })];
    }
    return null;
  }

  private createJob(body: K8sObject, namespace: string): [number, unknown] {
    if (body.kind !== 'Job' || body.apiVersion !== 'batch/v1') return [400, status(400, 'BadRequest', `expected a batch/v1 Job, got ${body.apiVersion} ${body.kind}`)];
    const name = body.metadata.name;
    if (this.jobs.has(`${namespace}/${name}`)) return [409, status(409, 'AlreadyExists', `jobs.batch "${name}" already exists`)];
    const uid = randomUUID();
    const now = new Date().toISOString();
    const job: K8sObject = { ...body, metadata: { ...body.metadata, namespace, uid, resourceVersion: '1', creationTimestamp: now }, status: { active: 1, startTime: now } };
    this.jobs.set(`${namespace}/${name}`, job);
    const script = this.script(job);
    this.scripts.set(name, { script, reads: 0 });
    const template = (body.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: unknown } }).template;
    const podName = `${name}-${randomUUID().slice(0, 5)}`;
    const labels = { ...template.metadata?.labels, 'batch.kubernetes.io/job-name': name, 'job-name': name, 'batch.kubernetes.io/controller-uid': uid };
    this.pods.set(`${namespace}/${podName}`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName, namespace, labels, uid: randomUUID(), resourceVersion: '1', creationTimestamp: now, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid, controller: true, blockOwnerDeletion: true }] },
      spec: template.spec,
      status: {
        phase: 'Pending',
        containerStatuses: [{ name: 'runner', image: 'runner', imageID: '', ready: false, restartCount: 0, started: !script.waiting, state: script.waiting ? { waiting: script.waiting } : { running: { startedAt: now } } }],
      },
    });
    this.emit('job-created', job);
    return [201, job];
  }

  /** A status read: the Job stays active for `activeReads` reads, then shows its scripted end. */
  private advance(job: K8sObject): void {
    const entry = this.scripts.get(job.metadata.name);
    if (!entry || entry.script.end === 'never' || ++entry.reads <= (entry.script.activeReads ?? 1)) return;
    const { script } = entry;
    const now = new Date().toISOString();
    const succeeded = script.end === 'succeeded';
    const condition = script.condition ?? (succeeded ? { reason: '', message: '' } : { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
    job.status = {
      startTime: (job.status as { startTime: string }).startTime,
      ...(succeeded ? { succeeded: 1, completionTime: now } : { failed: 1 }),
      conditions: [{ type: succeeded ? 'Complete' : 'Failed', status: 'True', lastProbeTime: now, lastTransitionTime: now, ...(condition.reason ? condition : {}) }],
    };
    for (const pod of this.pods.values()) {
      if (pod.metadata.labels?.['batch.kubernetes.io/job-name'] !== job.metadata.name) continue;
      const terminated = { exitCode: 0, reason: 'Completed', ...script.terminated, startedAt: now, finishedAt: now };
      pod.status = {
        phase: succeeded ? 'Succeeded' : 'Failed',
        containerStatuses: [{ name: 'runner', image: 'runner', imageID: '', ready: false, restartCount: 0, started: false, state: { terminated } }],
      };
    }
  }
}
