// No transport starts Node.js inside a sandbox or a sidecar for a job: the judge is the worker's, and what runs where
// the job runs is the C executor (runner/sandbox/executor.c) and the job's own programs. Shown on a runner image whose
// node is a tripwire (it says so on stderr and exits 99): every container transport runs jobs through it as usual,
// and the entrypoints the stacks and transports give the image are the executor's.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIDECAR_COMMAND } from '../../components/workerEnv.js';
import { normalizeJob, type Job } from '../../core/protocol/job.js';
import { runnerJobSpec } from '../../worker/transports/kubernetesTransport.js';
import { DockerTransport, runnerContainerSpec } from '../../worker/transports/dockerTransport.js';
import { SidecarTransport } from '../../worker/transports/sidecarTransport.js';
import { FakeKubernetes } from '../support/fakeKubernetes.js';
import { KubernetesTransport } from '../../worker/transports/kubernetesTransport.js';
import { runPodContainer } from '../support/podContainer.js';
import { testOwner } from '../support/sandboxClaims.js';
import { dockerAvailable, DOCKER_SOCKET, MINIMAL_RUNNER_IMAGE } from '../support/services.js';
import { startSidecar } from '../support/sidecar.js';

const DOCKER = await dockerAvailable();
const EXECUTOR = '/opt/runner/sandbox-executor';
const TRIPWIRE_IMAGE = `code-runner-node-tripwire:${MINIMAL_RUNNER_IMAGE.split(':').pop()}`;

const jobs = (): Job[] => [
  normalizeJob({ id: 'tripwire-python', language: 'python', code: 'print(input()[::-1])', stdin: 'olleh\n', expectedOutput: 'hello' }),
  normalizeJob({ id: 'tripwire-c', language: 'c', code: '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }', testCases: [{ expectedOutput: 'hi' }, { expectedOutput: 'hi' }] }),
];

describe('the entrypoints given to the runner image', () => {
  it('are the executor: the image, the docker transport, the sidecar of the stacks, the kubernetes Job', () => {
    const job = jobs()[0];
    expect(runnerContainerSpec(job, { socketPath: DOCKER_SOCKET, image: 'runner', deployment: 'd', ownerId: 'o' }, '/x').Entrypoint).toEqual([EXECUTOR]);
    expect(SIDECAR_COMMAND[0]).toBe(EXECUTOR);
    const pod = runnerJobSpec(job, 'run-x', { namespace: 'n', image: 'runner', deployment: 'd', ownerId: 'o' }).spec!.template.spec!;
    expect(pod.containers.map((c) => c.command?.[0])).toEqual([EXECUTOR]);
  });
});

describe.skipIf(!DOCKER)('a runner image whose node is a tripwire', () => {
  beforeAll(() => {
    const context = mkdtempSync(join(tmpdir(), 'tripwire-'));
    try {
      writeFileSync(join(context, 'Dockerfile'), [
        `FROM ${MINIMAL_RUNNER_IMAGE}`,
        'USER root',
        // Every name node answers to in the image.
        "RUN for n in $(command -v node nodejs); do rm -f \"$n\" && printf '#!/bin/sh\\necho \"node started: $0 $*\" >&2\\nexit 99\\n' > \"$n\" && chmod 755 \"$n\"; done",
        'USER 1000',
      ].join('\n'));
      execFileSync('docker', ['build', '-q', '-t', TRIPWIRE_IMAGE, context], { stdio: 'pipe' });
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  }, 120_000);
  afterAll(() => spawnSync('docker', ['rmi', '-f', TRIPWIRE_IMAGE], { stdio: 'ignore' }));

  it('trips when node starts', () => {
    const r = spawnSync('docker', ['run', '--rm', '--entrypoint', 'node', TRIPWIRE_IMAGE, '/opt/runner/anything.js'], { encoding: 'utf8' });
    expect(r.status).toBe(99);
    expect(r.stderr).toMatch(/node started/);
  });

  it('docker transport: jobs run and are judged, node never starts', async () => {
    const transport = new DockerTransport({ socketPath: DOCKER_SOCKET, image: TRIPWIRE_IMAGE, ...testOwner('tripwire') });
    try {
      for (const job of jobs()) expect(await transport.run(job), job.id).toMatchObject({ status: 'accepted' });
    } finally {
      await transport.close();
    }
  });

  it('sidecar: jobs run and are judged, node never starts', async () => {
    const sidecar = await startSidecar({ image: TRIPWIRE_IMAGE });
    const transport = new SidecarTransport(sidecar.dir);
    try {
      for (const job of jobs()) expect(await transport.run(job), job.id).toMatchObject({ status: 'accepted' });
      expect(sidecar.log()).not.toMatch(/node started/);
    } finally {
      await transport.close();
      await sidecar.stop();
    }
  });

  it('kubernetes: the Job pod runs the jobs, node never starts', async () => {
    const fake = new FakeKubernetes();
    await fake.start();
    const logs: string[] = [];
    fake.script = (body: any) => {
      const log = runPodContainer(body, (name) => fake.configMaps.get(`${body.metadata.namespace}/${name}`) as any, TRIPWIRE_IMAGE);
      logs.push(log);
      return { end: 'succeeded', terminated: { exitCode: 0, reason: 'Completed' }, log };
    };
    const transport = new KubernetesTransport({ namespace: 'tripwire', image: TRIPWIRE_IMAGE, ...testOwner('tripwire'), kubeConfig: fake.kubeConfig(), pollIntervalMs: 20 });
    try {
      for (const job of jobs()) expect(await transport.run(job), job.id).toMatchObject({ status: 'accepted' });
      expect(logs.join('')).not.toMatch(/node started/);
    } finally {
      await transport.close();
      await fake.stop();
    }
  });
});
