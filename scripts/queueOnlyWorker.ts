// The bench's "queue only" worker: the real worker loop (claim, validate, store, acknowledge) over a transport
// that answers at once, so the bench can tell the queue's cost from the sandbox's. Configured like a worker.
import { loadConfig } from '../worker/config.js';
import { createLogger } from '../core/logger.js';
import { newInstanceId, StreamWorker } from '../worker/streamConsumer.js';
import { ScriptedTransport } from '../test/support/scriptedTransport.js';

const config = loadConfig();
const log = createLogger({ component: 'worker' });
const worker = new StreamWorker(config, newInstanceId(config.workerName), new ScriptedTransport(() => ({ stdout: 'hello world\n' })), log);
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
await worker.start();
