// Pulumi program entry point (Pulumi.yaml -> package.json "main"). Deliberately thin: it reads the
// stack config, validates it, and exports the resolved settings so `pulumi preview` shows what a stack
// would deploy. The environment components for local, aws and gcp land in a later change; until then
// this program declares no resources, so it also runs under unit-test mocks without any provider plugin.
import * as pulumi from '@pulumi/pulumi';
import { parseStackConfig } from './components/stackConfig.js';

const config = new pulumi.Config('code-execution');
// Wrapped rather than passing config.get directly: it is a method and needs its `this`.
const settings = parseStackConfig((key) => config.get(key));

export const target = settings.target;
export const runnerMode = settings.runnerMode;
export const maxConcurrentJobs = settings.maxConcurrentJobs;
export const workers = { min: settings.minWorkers, max: settings.maxWorkers };
export const queueDepthTarget = settings.queueDepthTarget;
