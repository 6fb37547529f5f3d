#!/usr/bin/env node
// The code-exec command: runs the TypeScript CLI (worker/cli/main.ts) through tsx, so it works right after `npm ci`.
import { register } from 'tsx/esm/api';

// Node's own warnings (deprecations, the AWS SDK's notices) as JSON lines like the rest of the log.
process.removeAllListeners('warning');
process.on('warning', (w) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: w.message, warning: w.name })}\n`));

register();
await import('../worker/cli/main');
