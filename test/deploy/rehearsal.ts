// What the stacks' rehearsals (localStack, awsStack, gcpStack, awsSidecar) share: the local builds that stand for the
// images a stack references, the record of what a rehearsal changes in a stack's specs, and an HTTP client that
// answers "not yet" while a container is starting.
import type { StackRun } from '../pulumi/harness.js';
import { RUNNER_IMAGE } from '../support/services.js';

/** The worker image `npm run images` builds (the API runs from it too). */
export const WORKER_IMAGE = process.env.WORKER_IMAGE ?? 'code-worker:latest';

/**
 * The local build of each image a cloud stack references (by registry digest, under mocks). `runnerImage`: the build
 * that stands for the stack's runner image (the full one unless a rehearsal says otherwise).
 */
export function localImages(run: StackRun, runnerImage = RUNNER_IMAGE): (reference: string) => string {
  return (reference) => {
    if (reference === run.outputs.runnerImage) return runnerImage;
    if (reference === run.outputs.workerImage) return WORKER_IMAGE;
    throw new Error(`the stack references image ${reference}, which is neither its worker nor its runner image`);
  };
}

/** One value of the stack's specs that only the platform has, and what the rehearsal puts in its place (logged). */
export interface Substitution {
  managed: string;
  stack: string;
  rehearsal: string;
}

/** The one resource of `type` the stack creates (by its name's suffix), for what configures a stand-in. */
export const resource = (run: StackRun, type: string, suffix: string) => run.one(type, suffix).inputs;

/** `url` with its host and port replaced by `to`'s (credentials, path and parameters kept). */
export function repoint(url: string, to: { host: string; port: number }): string {
  const u = new URL(url);
  u.hostname = to.host;
  u.port = String(to.port);
  return u.toString();
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** The JSON answer at `url`, or null while nothing answers there yet (the process is starting). */
export async function request(url: string, init: RequestInit = {}): Promise<Answer | null> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(70_000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return null;
  }
}
