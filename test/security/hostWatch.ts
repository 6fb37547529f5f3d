// What the hostile-program battery watches on the host while attacks run: sentinel files outside every
// sandbox (in /tmp and in the worker's own directories), a Redis holding known keys, loopback canaries that
// count every connection or datagram that reaches them (TCP and UDP on 127.0.0.1 and ::1, an abstract unix
// socket), credentials in the worker's environment, and the host's processes and containers. After every
// cell the battery asks `problems()`: anything changed is reported, then re-baselined so that the next cell
// is judged on its own. Processes and containers are judged only when they are the battery's own or nobody's
// (../support/sandboxClaims.ts): another run of the suite, or another deployment's worker on this host, starts
// jobs and containers of its own meanwhile, and those are not this battery's leftovers.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { LABEL_JOB, POOLED_JOB } from '../../core/labels.js';
import { JOB_UID_MIN } from '../../core/protocol/limits.js';
import { DIST_DIR } from '../../core/runnerBundle.js';
import { HostView, isOthersContainer, readHostProcesses, type HostProcess } from '../support/sandboxClaims.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { DOCKER_SOCKET } from '../support/services.js';

/** Attacks name every file they try to create outside their sandbox with this, so the host can be searched for it. */
export const MARKER = 'code-exec-evil';

const REPO_ROOT = join(DIST_DIR, '..');

/** Host directories searched for MARKER after every cell (the sentinel and sidecar directories are added). */
const WATCHED_DIRS = ['/', '/etc', '/usr', '/usr/bin', '/opt', '/tmp', '/var/tmp', '/root', '/run', '/dev/shm', DIST_DIR, REPO_ROOT];

interface SentinelState {
  path: string;
  content: string;
  mtimeMs: number;
  ino: number;
  mode: number;
}

export interface HostSnapshot {
  processes: Map<number, HostProcess>;
  containers: Set<string>;
}

function rand(): string {
  return randomBytes(8).toString('hex');
}

/**
 * A process of a warm pool's idle sandbox (its cgroup is named `<owner>@pooled-…`) running as the runner, not as a
 * job: the pool refills during a cell. How many such sandboxes may exist is expectNothingLeft's to check; a job
 * uid's process is never excused.
 */
function isPooledRunner(p: HostProcess): boolean {
  if (p.uid >= JOB_UID_MIN) return false;
  try {
    return readFileSync(`/proc/${p.pid}/cgroup`, 'utf8').includes('@pooled-');
  } catch {
    return false;
  }
}

export class HostWatch {
  readonly redis: TestRedis;
  /** Values that must never appear in anything a job returns. */
  readonly secrets: string[] = [];
  /** Credentials put in the worker's environment (and the sidecars'): what a job hunting for them would want. */
  readonly envSecrets: Record<string, string>;
  readonly sentinelDir: string;
  readonly tcpPort: number;
  readonly udpPort: number;
  readonly abstractName: string;
  /** Roots of process trees that belong to the battery (a sidecar container's init): new processes under them are leftovers. */
  readonly watchedRoots = new Set<number>([process.pid]);
  private readonly sentinels = new Map<string, SentinelState>();
  private readonly extraDirs = new Set<string>();
  private readonly savedEnv: Record<string, string | undefined> = {};
  private redisBaseline = '';
  private reached: string[] = [];

  private constructor(
    redis: TestRedis,
    private readonly servers: Server[],
    private readonly udp: UdpSocket[],
    ports: { tcp: number; udp: number },
    abstractName: string,
  ) {
    this.redis = redis;
    this.tcpPort = ports.tcp;
    this.udpPort = ports.udp;
    this.abstractName = abstractName;
    this.sentinelDir = mkdtempSync(join(tmpdir(), 'battery-host-'));
    const secret = rand();
    this.envSecrets = {
      REDIS_URL: `redis://:redis-password-${secret}@127.0.0.1:${redis.port}`,
      DATABASE_URL: `postgres://worker:db-password-${secret}@127.0.0.1:5432/submissions`,
      AWS_ACCESS_KEY_ID: `AKIA${secret.toUpperCase()}`,
      AWS_SECRET_ACCESS_KEY: `aws-secret-${secret}`,
      AWS_SESSION_TOKEN: `aws-session-${secret}`,
      GOOGLE_APPLICATION_CREDENTIALS: join(this.sentinelDir, 'gcp-key.json'),
      CONTRACT_SECRET: 'must-not-leak',
    };
    for (const [k, v] of Object.entries(this.envSecrets)) {
      this.savedEnv[k] = process.env[k];
      process.env[k] = v;
      if (k !== 'GOOGLE_APPLICATION_CREDENTIALS') this.secrets.push(v);
    }
  }

  static async start(): Promise<HostWatch> {
    const redis = await startRedis();
    const servers: Server[] = [];
    const udp: UdpSocket[] = [];
    const reached: string[] = [];
    const tcp = (host: string, port: number) =>
      new Promise<number>((resolve, reject) => {
        const server = createServer((socket) => {
          reached.push(`tcp ${host}:${port} from ${socket.remoteAddress}`);
          socket.destroy();
        });
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as { port: number }).port));
        servers.push(server);
      });
    const tcpPort = await tcp('127.0.0.1', 0);
    await tcp('::1', tcpPort).catch(() => {});
    const bindUdp = (type: 'udp4' | 'udp6', host: string, port: number) =>
      new Promise<number>((resolve, reject) => {
        const socket = createSocket(type);
        socket.on('message', (_m, from) => reached.push(`udp ${host}:${port} from ${from.address}`));
        socket.once('error', reject);
        socket.bind(port, host, () => resolve(socket.address().port));
        udp.push(socket);
      });
    const udpPort = await bindUdp('udp4', '127.0.0.1', 0);
    await bindUdp('udp6', '::1', udpPort).catch(() => {});
    // Node binds abstract names padded to the full sun_path: jobs find it in /proc/net/unix as it is.
    const abstractName = `battery-canary-${rand()}`;
    await new Promise<void>((resolve, reject) => {
      const server = createServer((socket) => {
        reached.push(`abstract unix socket @${abstractName}`);
        socket.destroy();
      });
      server.once('error', reject);
      server.listen(`\0${abstractName}`, resolve);
      servers.push(server);
    });
    const watch = new HostWatch(redis, servers, udp, { tcp: tcpPort, udp: udpPort }, abstractName);
    watch.reached = reached;
    await watch.seed();
    return watch;
  }

  private async seed(): Promise<void> {
    const redisSecret = `redis-value-${rand()}`;
    this.secrets.push(redisSecret);
    await this.redis.client.set('battery:secret', redisSecret);
    await this.redis.client.set('battery:counter', '41');
    await this.redis.client.hset('battery:worker', 'token', `token-${redisSecret}`);
    this.redisBaseline = await this.redisState();
    this.addSentinel(join(this.sentinelDir, 'secret.txt'), 0o644);
    this.addSentinel(join(this.sentinelDir, 'private.key'), 0o600);
    this.addSentinel(join(this.sentinelDir, 'gcp-key.json'), 0o600);
    // The worker's own directories: where its code runs from (dist/) and its checkout.
    this.addSentinel(join(DIST_DIR, `.battery-sentinel-${process.pid}`), 0o644);
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    this.addSentinel(join(REPO_ROOT, '.tmp', `battery-sentinel-${process.pid}`), 0o644);
  }

  /** Host paths of every sentinel file: targets for attacks that aim links or writes at host files. */
  get sentinelPaths(): string[] {
    return [...this.sentinels.keys()];
  }

  /** Host directories attacks try to write into: the sentinels' and the worker's own. */
  get hostDirs(): string[] {
    return [this.sentinelDir, DIST_DIR, REPO_ROOT, ...this.extraDirs];
  }

  /** A sentinel file (root-owned, a secret inside) whose content, mtime, inode and link count must not change. */
  addSentinel(path: string, mode: number): void {
    const content = `SENTINEL-${rand()}\n`;
    writeFileSync(path, content, { mode });
    const st = lstatSync(path);
    this.sentinels.set(path, { path, content, mtimeMs: st.mtimeMs, ino: st.ino, mode });
    this.secrets.push(content.trim());
  }

  /** A directory the worker owns for one transport (the shared sidecar directory), with a sentinel of its own. */
  watchDir(dir: string): string {
    this.extraDirs.add(dir);
    const path = join(dir, '.battery-sentinel');
    this.addSentinel(path, 0o644);
    return path;
  }

  unwatchDir(dir: string): void {
    this.extraDirs.delete(dir);
    for (const path of [...this.sentinels.keys()]) if (path.startsWith(`${dir}/`)) this.sentinels.delete(path);
  }

  private async redisState(): Promise<string> {
    const c = this.redis.client;
    const keys = (await c.keys('*')).sort();
    const values = await Promise.all(keys.map(async (k) => [k, await c.type(k), await c.dumpBuffer(k).then((d) => d?.toString('hex'))]));
    const info = await c.info('stats');
    const connections = info.match(/^total_connections_received:(\d+)/m)?.[1];
    return JSON.stringify({ values, connections });
  }

  async snapshot(): Promise<HostSnapshot> {
    return { processes: readHostProcesses(), containers: new Set(await this.containerIds()) };
  }

  private async containerIds(): Promise<string[]> {
    try {
      return (await new Docker({ socketPath: DOCKER_SOCKET }).listContainers({ all: true })).map((c) => c.Id);
    } catch {
      return [];
    }
  }

  /** Secrets of the host found in what jobs returned. */
  leakedIn(outcomes: unknown[], extra: string[] = []): string[] {
    const text = JSON.stringify(outcomes);
    return [...this.secrets, ...extra].filter((s) => text.includes(s)).map((s) => `a job's result contains the host secret ${JSON.stringify(s)}`);
  }

  /**
   * Everything the cell changed on the host since `before`: reported once, then taken as the new baseline so
   * a later cell is not blamed for it.
   */
  async problems(before: HostSnapshot): Promise<string[]> {
    const found: string[] = [];
    for (const s of this.sentinels.values()) {
      let changed: string | null = null;
      try {
        const st = lstatSync(s.path);
        const content = readFileSync(s.path, 'utf8');
        if (!st.isFile()) changed = 'is no longer a regular file';
        else if (content !== s.content) changed = `content changed to ${JSON.stringify(content.slice(0, 120))}`;
        else if (st.mtimeMs !== s.mtimeMs) changed = 'was written (mtime changed)';
        else if (st.ino !== s.ino) changed = 'was replaced (inode changed)';
        else if (st.nlink !== 1) changed = `has ${st.nlink} hard links`;
      } catch (err) {
        changed = `is gone (${(err as Error).message})`;
      }
      if (changed) {
        found.push(`host sentinel ${s.path} ${changed}`);
        rmSync(s.path, { force: true });
        this.sentinels.delete(s.path);
        this.addSentinel(s.path, s.mode);
      }
    }
    for (const dir of [...WATCHED_DIRS, ...this.hostDirs]) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).filter((n) => n.includes(MARKER))) {
        found.push(`a job created ${join(dir, name)} on the host`);
        rmSync(join(dir, name), { recursive: true, force: true });
      }
    }
    const redisNow = await this.redisState();
    if (redisNow !== this.redisBaseline) {
      found.push(`the host Redis changed: ${this.redisBaseline} -> ${redisNow}`);
      this.redisBaseline = redisNow;
    }
    if (this.reached.length) {
      found.push(`loopback canaries were reached: ${this.reached.join('; ')}`);
      this.reached.length = 0;
    }
    found.push(...(await this.newProcesses(before)), ...(await this.newContainers(before)));
    return found;
  }

  /**
   * Processes born during the cell, still alive, in a tree the battery owns, or running as a job uid in one of
   * its sandboxes (wherever they were reparented to): they outlived their job.
   */
  private async newProcesses(before: HostSnapshot): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const view = HostView.take();
      const isNew = (p: HostProcess) => before.processes.get(p.pid)?.start !== p.start;
      const ours = (p: HostProcess) => view.descendsFrom(p.pid, this.watchedRoots) || (p.uid >= JOB_UID_MIN && view.isOurs(p.pid));
      const left = [...view.processes.values()].filter((p) => p.pid !== process.pid && isNew(p) && p.comm !== 'ps' && ours(p) && !isPooledRunner(p));
      if (!left.length) return [];
      if (Date.now() > deadline) return left.map((p) => `new process left running: pid ${p.pid} uid ${p.uid} ${p.comm} (parent ${p.ppid})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Containers created during the cell that are still there (ours are removed by expectNothingLeft already).
   * Intermediate containers of an image build elsewhere on this host (their image is a bare layer id) are not
   * a job's doing, nor are other deployments' sandbox containers and other test processes' containers.
   */
  private async newContainers(before: HostSnapshot): Promise<string[]> {
    const docker = new Docker({ socketPath: DOCKER_SOCKET });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const left: string[] = [];
      for (const id of (await this.containerIds()).filter((i) => !before.containers.has(i))) {
        const info = await docker.getContainer(id).inspect().catch(() => null);
        // A warm pool's idle container: the pool refills during a cell (expectNothingLeft bounds how many).
        if (info?.Config.Labels?.[LABEL_JOB] === POOLED_JOB && info.State.Running) continue;
        if (info && isOthersContainer({ id, names: [info.Name], labels: info.Config.Labels ?? {} })) continue;
        if (info && !/^(sha256:)?[0-9a-f]{12,64}$/.test(info.Config.Image)) left.push(`new container left: ${id.slice(0, 12)} ${info.Config.Image} ${info.Name}`);
      }
      if (!left.length || Date.now() > deadline) return left;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    for (const s of this.servers) s.close();
    for (const u of this.udp) u.close();
    for (const path of this.sentinels.keys()) rmSync(path, { force: true });
    rmSync(this.sentinelDir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(this.savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await this.redis.stop();
  }
}
