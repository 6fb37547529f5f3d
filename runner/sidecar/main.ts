// Entry point of the runner sidecar (dist/sidecar.js, /opt/runner/sidecar.js in the runner image). Also run
// by `code-exec sidecar`. Configured from the environment; stops cleanly on SIGTERM.
import { createLogger } from '../../core/logger.js';
import { runSidecar } from './command.js';

process.exitCode = await runSidecar(createLogger({ component: 'sidecar' }));
