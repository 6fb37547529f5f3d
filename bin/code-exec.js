#!/usr/bin/env node
// The code-exec command: runs the TypeScript CLI through tsx, so it works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../worker/cli/main.ts');
