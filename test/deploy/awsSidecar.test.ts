// Rehearsal of the aws stack's worker task on this machine: the task definition `pulumi up -s aws` would register
// (index.ts under Pulumi mocks, Pulumi.aws.yaml's config) is started container by container as the ECS agent starts
// it (ecsSemantics.ts), with the images `npm run images` builds standing for the ECR digests. The runner sidecar must
// keep running and serve the shared volume: a job handed to it there gets its verdict.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HEARTBEAT_FILE } from '../../core/protocol/sidecarExchange.js';
import { normalizeJob } from '../../core/protocol/job.js';
import { SidecarTransport } from '../../worker/transports/sidecarTransport.js';
import { runStack, type StackRun } from '../pulumi/harness.js';
import { SIDECAR_COMMAND } from '../../components/workerEnv.js';
import { dockerAvailable } from '../support/services.js';
import { localImages, WORKER_IMAGE } from './rehearsal.js';
import { startEcsTask, type EcsContainerDefinition, type EcsVolume, type RehearsedTask } from './ecsSemantics.js';

const docker = await dockerAvailable();

let run: StackRun;
let task: RehearsedTask | null = null;
beforeAll(async () => {
  run = await runStack('aws');
});
afterEach(async () => {
  await task?.stop();
  task = null;
});
afterAll(async () => {
  await task?.stop();
});

const workerTask = () => run.one('aws:ecs/taskDefinition:TaskDefinition', '-worker');
const definitions = (): EcsContainerDefinition[] => JSON.parse(workerTask().inputs.containerDefinitions) as EcsContainerDefinition[];
const start = (defs: EcsContainerDefinition[]) =>
  startEcsTask(defs, {
    start: ['runner'],
    image: localImages(run),
    volumes: workerTask().inputs.volumes as EcsVolume[],
    pauseImage: WORKER_IMAGE,
  });

interface Heartbeat {
  at: string;
  ready: boolean;
  problem?: string;
}
const heartbeat = (dir: string): Heartbeat | null => {
  try {
    return JSON.parse(readFileSync(join(dir, HEARTBEAT_FILE), 'utf8')) as Heartbeat;
  } catch {
    return null;
  }
};

/** Waits for `count` different heartbeats (one a second while the sidecar runs); fails with the sidecar's log. */
async function heartbeats(t: RehearsedTask, count: number, timeoutMs = 30_000): Promise<Heartbeat[]> {
  const seen = new Map<string, Heartbeat>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < count) {
    const beat = heartbeat(t.volumes.shared);
    if (beat) seen.set(beat.at, beat);
    const { State } = await t.containers.runner.inspect();
    if (!State.Running || Date.now() > deadline) {
      throw new Error(`${seen.size} of ${count} sidecar heartbeats (container ${State.Status}, exit ${State.ExitCode}, waited at most ${timeoutMs} ms):\n${await t.logs('runner')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return [...seen.values()];
}

async function exitOf(t: RehearsedTask, name: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { State } = await t.containers[name].inspect();
    if (!State.Running) return State.ExitCode;
    if (Date.now() > deadline) throw new Error(`container ${name} still runs after ${timeoutMs} ms:\n${await t.logs(name)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!docker)('aws: the worker task as ECS starts it', () => {
  it('the runner sidecar keeps running, beats, and runs a job handed to it through the shared volume', async () => {
    task = await start(definitions());
    const beats = await heartbeats(task, 3);
    expect(beats.at(-1), JSON.stringify(beats.at(-1))).toMatchObject({ ready: true });
    const { State, HostConfig } = await task.containers.runner.inspect();
    expect(State.Running).toBe(true);
    // Its own CPU share, as the stack sizes it (ECS would give a container without `cpu` 2 shares).
    expect(HostConfig.CpuShares).toBe(definitions().find((d) => d.name === 'runner')!.cpu);

    const transport = new SidecarTransport(task.volumes.shared);
    try {
      const job = normalizeJob({ id: 'aws-rehearsal', language: 'python', code: 'print(input()[::-1])', stdin: 'olleh\n', expectedOutput: 'hello\n' });
      const outcome = await transport.run(job);
      expect(outcome, `${JSON.stringify(outcome)}\n${await task.logs('runner')}`).toMatchObject({ status: 'accepted', stdout: 'hello\n' });
    } finally {
      await transport.close();
    }
  });

  it('the same rehearsal fails the old runner definition (its program as `command`, no entryPoint): ECS appends it to the image ENTRYPOINT', async () => {
    // The stack's definition with its sidecar program moved back from entryPoint to command, as it was written.
    const defs = definitions().map((def) => {
      if (def.name !== 'runner') return def;
      const { entryPoint, ...rest } = def;
      expect(entryPoint).toEqual([...SIDECAR_COMMAND]);
      return { ...rest, command: entryPoint };
    });
    task = await start(defs);
    // The image's ENTRYPOINT (the executor) with the whole command as its arguments: it refuses them and exits.
    await exitOf(task, 'runner', 30_000);
    expect(await task.logs('runner')).toMatch(/usage: sandbox-executor --socket PATH \| --serve DIR \| --batch FILE/);
    expect(heartbeat(task.volumes.shared)).toBeNull();
  });
});
