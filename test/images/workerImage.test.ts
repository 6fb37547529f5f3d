// The worker image (worker/Dockerfile, `npm run images`): its container starts the worker (`code-exec worker`, the
// default command) as uid 1000 under the deployments' hardening (read-only root, no capability, no new privileges),
// against a real Redis, and exits 0 on SIGTERM as PID 1.
//
// The worker runs in docker mode, but against a stub Docker API on a socket of its own rather than the host engine:
// a worker reaps every container with our label whose owner has no heartbeat in *its* Redis, so a worker on a test
// Redis would remove the sandboxes of anything else using this engine at the same time. The stub answers the three
// calls a starting worker makes (ping, runner image inspect, list containers) and the test checks they were made.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/freePort.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { DOCKER_SOCKET } from '../support/services.js';

const WORKER_IMAGE = process.env.WORKER_IMAGE ?? 'code-worker:latest';
const docker = new Docker({ socketPath: DOCKER_SOCKET });

/** null when the test can run; else why not. Under CI a reason fails the suite instead of skipping it. */
async function imageProblem(): Promise<string | null> {
  try {
    await docker.ping();
  } catch {
    return `no Docker engine on ${DOCKER_SOCKET} (start it: bash scripts/start-docker.sh)`;
  }
  try {
    await docker.getImage(WORKER_IMAGE).inspect();
  } catch {
    return `worker image ${WORKER_IMAGE} missing (build it: npm run images)`;
  }
  return null;
}

async function available(): Promise<boolean> {
  const problem = await imageProblem();
  if (!problem) return true;
  if (process.env.CI) throw new Error(`CI requires the worker image: ${problem}`);
  console.warn(`\n!!!!!!!!!!\n!!! SKIPPING WORKER IMAGE TEST: ${problem}\n!!!!!!!!!!\n`);
  return false;
}

/** A Docker API that knows one image and no containers, on a unix socket the container's uid 1000 can use. */
function stubDockerApi(dir: string): Promise<{ server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/v\d+\.\d+/, '').split('?')[0];
    requests.push(`${req.method} ${path}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('OK');
    } else if (req.method === 'GET' && /^\/images\/.+\/json$/.test(path)) json(200, { Id: 'sha256:stub', Config: { Labels: {} } });
    else if (req.method === 'GET' && path === '/containers/json') json(200, []);
    else json(404, { message: `stub Docker API: ${req.method} ${path} is not implemented` });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(join(dir, 'docker.sock'), () => {
      chmodSync(join(dir, 'docker.sock'), 0o666);
      resolve({ server, requests });
    });
  });
}

describe('worker image', async () => {
  const run = await available();
  let redis: TestRedis;
  let dir: string;
  let stub: { server: Server; requests: string[] };

  beforeAll(async () => {
    if (!run) return;
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'worker-image-'));
    chmodSync(dir, 0o755);
    stub = await stubDockerApi(dir);
  });

  afterAll(async () => {
    if (!run) return;
    await new Promise((r) => stub.server.close(r));
    rmSync(dir, { recursive: true, force: true });
    await redis.stop();
  });

  it.runIf(run)('starts `code-exec worker` as uid 1000 and exits 0 on SIGTERM', async () => {
    const streamKey = `worker-image-${randomUUID()}`;
    const container = await docker.createContainer({
      name: `code-exec-worker-image-test-${randomUUID().slice(0, 8)}`,
      Image: WORKER_IMAGE,
      // No Cmd: the image's default (`worker`) is what is under test.
      Env: [
        `REDIS_URL=${redis.url}`,
        `STREAM_KEY=${streamKey}`,
        'RUNNER_MODE=docker',
        'DOCKER_SOCKET=/stub/docker.sock',
        'RUNNER_IMAGE=code-runner:latest',
        'WORKER_NAME=image-test',
        `METRICS_PORT=${await freePort()}`,
      ],
      Labels: { 'code-execution.test': 'worker-image' },
      HostConfig: {
        // The test's Redis listens on the host's 127.0.0.1.
        NetworkMode: 'host',
        Binds: [`${dir}:/stub`],
        ReadonlyRootfs: true,
        // The runner containers' exchange directories: writable by uid 1000, as the local stack's volume is.
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m', '/run/code-execution/docker': 'rw,nosuid,nodev,size=1m,uid=1000,gid=1000,mode=0700' },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
      },
    });
    try {
      const stderr = new PassThrough();
      const lines: string[] = [];
      let buffered = '';
      stderr.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        lines.push(...parts);
      });
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      docker.modem.demuxStream(stream, new PassThrough(), stderr);
      await container.start();
      const exited = container.wait() as Promise<{ StatusCode: number }>;
      let hasExited = false;
      void exited.then(() => (hasExited = true));

      const logged = (msg: string) => lines.some((l) => l.startsWith('{') && (JSON.parse(l) as { msg?: string }).msg === msg);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 60_000)));
      try {
        // Wake on each chunk of output, on the container's exit, or at the deadline: whichever comes first.
        while (!logged('worker started')) {
          const woke = await Promise.race([new Promise((r) => stderr.once('data', r)), exited, timeout]);
          if (woke === 'timeout') throw new Error(`no "worker started" within 60 s:\n${lines.join('\n')}`);
          if (hasExited && !logged('worker started')) throw new Error(`the worker container exited before "worker started":\n${lines.join('\n')}`);
        }
      } finally {
        clearTimeout(timer);
      }
      const started = JSON.parse(lines.find((l) => l.includes('"worker started"'))!);
      expect(started).toMatchObject({ level: 'info', stream: streamKey, runnerMode: 'docker' });
      const info = await container.inspect();
      expect(info.Config.User).toBe('1000:1000');
      expect(info.Path).toBe('node');
      expect(info.Args).toEqual(['/app/bin/code-exec.js', 'worker']);
      // The worker really used its (stub) Docker: ping, the runner image, the reaper's container list.
      expect(stub.requests).toEqual(expect.arrayContaining(['GET /_ping', 'GET /images/code-runner:latest/json', 'GET /containers/json']));
      // Its consumer group exists on the test Redis.
      expect((await redis.client.xinfo('GROUPS', streamKey)) as unknown[]).toHaveLength(1);

      await container.kill({ signal: 'SIGTERM' });
      const exit = await exited;
      expect(exit.StatusCode, lines.join('\n')).toBe(0);
      expect(logged('shutdown requested')).toBe(true);
    } finally {
      await container.remove({ force: true }).catch(() => {});
    }
  }, 120_000);
});
