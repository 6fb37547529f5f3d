// The Docker engine's own ceiling for the docker transport: how many runner containers per second it can create,
// start and remove on this host, with the transport's own container spec (dockerTransport.ts) and nothing inside
// (the executor waits on its socket and is removed unconnected). No job can go faster through fresh containers;
// `npm run bench` states docker throughput against it.
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeJob } from '../core/protocol/job.js';
import { runnerContainerSpec } from '../worker/transports/dockerTransport.js';

export interface EngineCeiling {
  /** Containers created, started and removed per second, `concurrency` at a time. */
  perSecond: number;
  concurrency: number;
  containers: number;
  /** Median milliseconds of one create + start + remove. */
  p50Ms: number;
}

export async function measureEngineCeiling(socketPath: string, image: string, containers: number, concurrency: number): Promise<EngineCeiling> {
  const docker = new Docker({ socketPath });
  const exchange = mkdtempSync(join(tmpdir(), 'engine-ceiling-'));
  const spec = runnerContainerSpec(normalizeJob({ id: 'engine-ceiling', language: 'python', code: '' }), { socketPath, image, deployment: 'engine-ceiling', ownerId: 'bench' }, exchange);
  const each: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next++ < containers) {
      const t0 = performance.now();
      const container = await docker.createContainer(spec);
      await container.start();
      await container.remove({ force: true });
      each.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    rmSync(exchange, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  each.sort((a, b) => a - b);
  return { perSecond: containers / seconds, concurrency, containers, p50Ms: Math.round(each[Math.floor(each.length / 2)] * 10) / 10 };
}
