// The runner transports this host can run, for the suites that run the same jobs through every one of them
// (the transport contract suite, the hostile-program battery). Adding a transport is adding one entry to
// TRANSPORT_FACTORIES.
import { DockerTransport } from '../../worker/transports/dockerTransport.js';
import { ProcessTransport } from '../../worker/transports/processTransport.js';
import type { SandboxOwner } from '../../core/sandboxOwner.js';
import { SidecarTransport } from '../../worker/transports/sidecarTransport.js';
import { POOLED_SANDBOX_SIZE, type RunnerTransport } from '../../worker/transports/transport.js';
import { dockerAvailable, DOCKER_SOCKET, RUNNER_IMAGE } from './services.js';
import { startSidecar } from './sidecar.js';

export interface StartOptions {
  /** Whose the transport's sandboxes are (the deployment and the worker instance id in production). */
  owner: SandboxOwner;
  /** The runner sidecar container's environment (secrets a job must not see). */
  sidecarEnv?: Record<string, string>;
}

export interface StartedTransport {
  transport: RunnerTransport;
  /** The directory shared with the runner sidecar, for sidecar transports. */
  sidecarDir?: string;
  /** Stops what start() started beside the transport (a sidecar); the transport itself is closed by the caller. */
  stop?: () => Promise<void>;
  /** Idle warm-pool sandboxes the transport keeps between jobs (expectNothingLeft allows that many). */
  pooled?: number;
}

export interface TransportFactory {
  name: string;
  /** Skipped (loudly) outside CI when the Docker engine or an up-to-date runner image is missing. */
  needsDocker: boolean;
  start(opts: StartOptions): Promise<StartedTransport>;
}

const viaSidecar = async ({ sidecarEnv }: StartOptions): Promise<StartedTransport> => {
  const sidecar = await startSidecar({ env: sidecarEnv });
  return { transport: new SidecarTransport(sidecar.dir), sidecarDir: sidecar.dir, stop: () => sidecar.stop() };
};

/** Warm pools as a worker sets them up by default (POOL_SIZE 2, sandboxes sized for the default limits). */
const POOL = { poolSize: 2, poolLimits: POOLED_SANDBOX_SIZE };

export const TRANSPORT_FACTORIES: TransportFactory[] = [
  { name: 'process', needsDocker: false, start: async ({ owner }) => ({ transport: new ProcessTransport(owner) }) },
  // Pooled sandboxes start sized for the default limits and are refitted to each job's: everything else must hold as well.
  { name: 'process (warm pool)', needsDocker: false, start: async ({ owner }) => ({ transport: new ProcessTransport(owner, POOL), pooled: POOL.poolSize }) },
  {
    name: 'docker',
    needsDocker: true,
    start: async ({ owner }) => ({ transport: new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, ...owner }) }),
  },
  {
    name: 'docker (warm pool)',
    needsDocker: true,
    start: async ({ owner }) => ({ transport: new DockerTransport({ socketPath: DOCKER_SOCKET, image: RUNNER_IMAGE, ...owner, ...POOL }), pooled: POOL.poolSize }),
  },
  { name: 'sidecar', needsDocker: true, start: viaSidecar },
];

/**
 * The transports this run can use: all of them, or those without Docker when dockerAvailable() allows skipping.
 * TRANSPORTS (factory names, comma-separated, e.g. `process,process (warm pool)`) runs only those: the cgroup v2
 * lane (scripts/cgroup-v2-lane.sh) runs in a guest that has no Docker engine, where asking for one would fail CI.
 * A name that matches no factory is an error, so a typo cannot turn a suite into an empty, passing run.
 */
export async function availableTransports(): Promise<TransportFactory[]> {
  const wanted = process.env.TRANSPORTS?.split(',').map((n) => n.trim()).filter(Boolean);
  if (wanted?.length) {
    const unknown = wanted.filter((n) => !TRANSPORT_FACTORIES.some((t) => t.name === n));
    if (unknown.length) {
      throw new Error(`TRANSPORTS names no transport: ${unknown.join(', ')} (known: ${TRANSPORT_FACTORIES.map((t) => t.name).join(', ')})`);
    }
    const chosen = TRANSPORT_FACTORIES.filter((t) => wanted.includes(t.name));
    const withDocker = chosen.some((t) => t.needsDocker) ? await dockerAvailable() : false;
    return chosen.filter((t) => withDocker || !t.needsDocker);
  }
  const withDocker = await dockerAvailable();
  return TRANSPORT_FACTORIES.filter((t) => withDocker || !t.needsDocker);
}
