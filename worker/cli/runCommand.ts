// `code-exec run FILE`: the same runner through the configured transport, without the queue.
import { hostname } from 'node:os';
import { normalizeJob } from '../../core/protocol/job.js';
import type { JobResult } from '../../core/protocol/result.js';
import { loadConfig } from '../config.js';
import { createLogger } from '../../core/logger.js';
import { newInstanceId } from '../streamConsumer.js';
import { selectTransport } from '../transports/selectTransport.js';
import { jobFromFile, type JobFlags } from './jobFromFile.js';

export async function runCommand(file: string | undefined, flags: JobFlags): Promise<number> {
  const config = loadConfig();
  const job = normalizeJob(jobFromFile(file, flags));
  const log = createLogger({ component: 'cli' });
  const transport = await selectTransport(config, newInstanceId(config.workerName), log);
  const startedAt = new Date().toISOString();
  try {
    const outcome = await transport.run(job);
    const result: JobResult = {
      ...outcome, id: job.id, language: job.language, runnerMode: transport.mode, worker: hostname(),
      attempts: 1, startedAt, finishedAt: new Date().toISOString(),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await transport.close();
  }
}
