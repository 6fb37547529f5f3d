// Reads the sidecar's settings from the environment and runs it until SIGTERM or SIGINT.
import type { Logger } from '../../core/logger.js';
import { createExecutor, SANDBOXES, SidecarDaemon, type SandboxSetting } from './daemon.js';

export async function runSidecar(log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const dir = env.SIDECAR_DIR ?? '/shared';
  const workspace = env.SIDECAR_WORKSPACE ?? '/workspace';
  const sandbox = (env.SIDECAR_SANDBOX ?? 'auto') as SandboxSetting;
  const concurrency = Number(env.SIDECAR_CONCURRENCY ?? 2);
  if (!SANDBOXES.includes(sandbox)) {
    log.error('invalid SIDECAR_SANDBOX', { value: sandbox, allowed: SANDBOXES });
    return 2;
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    log.error('invalid SIDECAR_CONCURRENCY: must be a whole number >= 1', { value: env.SIDECAR_CONCURRENCY });
    return 2;
  }
  let daemon: SidecarDaemon;
  try {
    daemon = new SidecarDaemon(dir, createExecutor(sandbox, workspace, concurrency, dir), log);
    await daemon.start();
  } catch (err) {
    log.error('sidecar cannot start', { error: (err as Error).message });
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutdown requested', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await daemon.stop();
  return 0;
}
