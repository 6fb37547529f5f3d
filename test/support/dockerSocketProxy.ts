// A unix-socket proxy in front of the Docker engine, so a test can make the engine unreachable for one worker
// (and bring it back) without touching the real dockerd that other tests and people share.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCKER_SOCKET } from './services.js';

export interface DockerSocketProxy {
  /** Give this as DOCKER_SOCKET. */
  path: string;
  /** Connections piped through so far (the engine was really used through the proxy). */
  readonly connections: number;
  /** The engine becomes unreachable: the socket disappears and every open connection is cut. */
  cut(): Promise<void>;
  /** The engine answers on `path` again. */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDockerSocketProxy(target = DOCKER_SOCKET): Promise<DockerSocketProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'docker-proxy-'));
  const path = join(dir, 'docker.sock');
  const open = new Set<Socket>();
  let connections = 0;
  let server: Server | null = null;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      // Half-open both ways: a container's stdin ends (the job is sent) long before its output does.
      const s = createServer({ allowHalfOpen: true }, (client) => {
        connections++;
        const engine = connect({ path: target, allowHalfOpen: true });
        for (const [a, b] of [[client, engine], [engine, client]] as const) {
          open.add(a);
          a.on('error', () => b.destroy());
          a.on('close', () => {
            open.delete(a);
            b.destroy();
          });
          a.pipe(b);
        }
      });
      s.once('error', reject);
      s.listen(path, () => {
        server = s;
        resolve();
      });
    });

  const cut = async () => {
    const s = server;
    server = null;
    // close() stops accepting (and removes the socket file) once every connection is gone: destroy them.
    const closed = s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve();
    for (const socket of open) socket.destroy();
    await closed;
  };

  await listen();
  return {
    path,
    get connections() {
      return connections;
    },
    cut,
    async restore() {
      if (!server) await listen();
    },
    async stop() {
      await cut();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
