// The runner modes: how a worker gets a job to the runner program. The one list the worker's config and its
// transport factories (worker/transports/selectTransport.ts), the stack config and the CLI help read.
export const RUNNER_MODES = ['docker', 'process', 'sidecar', 'kubernetes'] as const;
export type RunnerMode = (typeof RUNNER_MODES)[number];

/** What a worker's RUNNER_MODE may say: a mode, or `auto` (the worker picks docker or process at start). */
export const RUNNER_MODE_SETTINGS = ['auto', ...RUNNER_MODES] as const;
export type RunnerModeSetting = (typeof RUNNER_MODE_SETTINGS)[number];

/** One line on each setting, for help texts. */
export const RUNNER_MODE_DESCRIPTIONS: Readonly<Record<RunnerModeSetting, string>> = {
  auto: 'docker when the engine answers and has the runner image, else process (the default)',
  docker: 'a fresh hardened container per job on the Docker engine at DOCKER_SOCKET',
  process: "a fresh sandbox per job (own namespaces, cgroup and tmpfs) from the supervisor on the worker's own host",
  sidecar: "jobs handed one at a time to the runner sidecar's executor, through its socket in the shared directory SIDECAR_DIR",
  kubernetes: 'a Kubernetes Job per job in K8S_NAMESPACE',
};
