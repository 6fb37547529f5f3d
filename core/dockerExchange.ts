// Where the docker transport makes each runner container's exchange directory (worker/transports/dockerTransport.ts),
// in one place for the worker, its image (worker/Dockerfile makes it) and the local stack (which mounts a volume
// there and tells the worker where the engine finds that volume).
export const DOCKER_EXCHANGE_ROOT = '/run/code-execution/docker';
