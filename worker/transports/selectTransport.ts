// RUNNER_MODE → a transport: one factory per runner mode (core/runnerModes.ts), so a mode without one does not
// compile. `auto` (the default) picks docker when the engine answers and has the runner image, else the process
// sandbox, and says which and why. `sidecar` and `kubernetes` are only ever chosen explicitly.
import Docker from 'dockerode';
import type { WorkerConfig } from '../config.js';
import type { Logger } from '../../core/logger.js';
import type { RunnerMode } from '../../core/runnerModes.js';
import { DockerTransport, exchangeRootProblem } from './dockerTransport.js';
import { ProcessTransport } from './processTransport.js';
import { supervisedSandboxProblem } from '../../core/sandbox/supervisedSandboxes.js';
import { deploymentId, type SandboxOwner } from '../../core/sandboxOwner.js';
import { SidecarTransport } from './sidecarTransport.js';
import { POOLED_SANDBOX_SIZE, type RunnerTransport } from './transport.js';

async function dockerReadiness(config: WorkerConfig): Promise<string | null> {
  const docker = new Docker({ socketPath: config.dockerSocket });
  try {
    await docker.ping();
  } catch (err) {
    return `no Docker engine answers on ${config.dockerSocket} (${(err as Error).message})`;
  }
  try {
    await docker.getImage(config.runnerImage).inspect();
  } catch {
    return `the runner image ${config.runnerImage} is missing; build it with \`npm run images\``;
  }
  return exchangeRootProblem();
}

/** The warm pool of the docker and process transports; a job of another size refits the sandbox it takes. */
function poolOptions(config: WorkerConfig, log: Logger) {
  return {
    poolSize: config.poolSize,
    poolLimits: POOLED_SANDBOX_SIZE,
    onPoolError: (err: Error) => log.warn('preparing a pooled sandbox failed; jobs set up their own meanwhile', { error: err.message }),
  };
}

type TransportFactory = (config: WorkerConfig, owner: SandboxOwner, log: Logger) => RunnerTransport | Promise<RunnerTransport>;

const dockerTransport: TransportFactory = (config, owner, log) =>
  new DockerTransport({
    socketPath: config.dockerSocket,
    image: config.runnerImage,
    runtime: config.dockerRuntime,
    exchangeHostDir: config.dockerExchangeHostDir,
    ...owner,
    ...poolOptions(config, log),
  });

function processTransport(config: WorkerConfig, owner: SandboxOwner, log: Logger): ProcessTransport {
  const problem = supervisedSandboxProblem(config.sandboxSupervisor);
  if (problem) throw new Error(`${problem} (or run Docker and \`npm run images\`)`);
  return new ProcessTransport(owner, { ...poolOptions(config, log), supervisor: config.sandboxSupervisor });
}

/** The transport of each mode when RUNNER_MODE names it. */
const TRANSPORTS: Record<RunnerMode, TransportFactory> = {
  async docker(config, owner, log) {
    const problem = await dockerReadiness(config);
    if (problem) throw new Error(`RUNNER_MODE=docker, but ${problem}`);
    return dockerTransport(config, owner, log);
  },
  process: processTransport,
  sidecar(config, owner, log) {
    const sidecar = new SidecarTransport(config.sidecarDir);
    // Not fatal: the sidecar container may start after the worker. Jobs wait for it (and are retried).
    const problem = sidecar.sidecarProblem();
    if (problem) log.warn('runner sidecar not seen yet', { reason: problem });
    return sidecar;
  },
  async kubernetes(config, owner, log) {
    // Loaded only here: the Kubernetes client costs every other mode about a second of start-up.
    const { KubernetesTransport } = await import('./kubernetesTransport.js');
    log.info('runner mode kubernetes', { namespace: config.k8sNamespace, image: config.runnerImage });
    return new KubernetesTransport({ namespace: config.k8sNamespace, image: config.runnerImage, ...owner });
  },
};

/** `ownerId`: this worker instance. Its sandboxes also carry the deployment, computed here from its queue. */
export async function selectTransport(config: WorkerConfig, ownerId: string, log: Logger): Promise<RunnerTransport> {
  const owner: SandboxOwner = { deployment: deploymentId(config), ownerId };
  if (config.runnerMode !== 'auto') return TRANSPORTS[config.runnerMode](config, owner, log);
  const problem = await dockerReadiness(config);
  if (!problem) {
    log.info('runner mode auto: using docker', { socket: config.dockerSocket, image: config.runnerImage });
    return dockerTransport(config, owner, log);
  }
  log.info('runner mode auto: using process (the sandbox supervisor)', { reason: problem });
  return processTransport(config, owner, log);
}
