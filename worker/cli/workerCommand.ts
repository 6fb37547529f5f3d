// `code-exec worker`: runs a worker until SIGTERM/SIGINT, then drains and exits 0.
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { newInstanceId, StreamWorker } from '../streamConsumer.js';
import { selectTransport } from '../transports/selectTransport.js';

export async function workerCommand(): Promise<number> {
  const config = loadConfig();
  const log = createLogger({ component: 'worker', worker: config.workerName });
  const instanceId = newInstanceId(config.workerName);
  const transport = await selectTransport(config, instanceId, log);
  const worker = new StreamWorker(config, instanceId, transport, log);
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutdown requested', { signal });
      void worker.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await worker.start();
  await stopped;
  return 0;
}
