// Labels on every container and Kubernetes object we start: how the reaper recognises ours and whose they are.
import type { SandboxOwner } from './sandboxOwner.js';

export const LABEL_MANAGED = 'code-execution.managed';
/** The deployment (sandboxOwner.ts): a reaper lists only its own deployment's. */
export const LABEL_DEPLOYMENT = 'code-execution.deployment';
export const LABEL_OWNER = 'code-execution.owner';
export const LABEL_JOB = 'code-execution.job';

/** LABEL_JOB of a warm-pool container no job has taken yet (labels cannot change later). */
export const POOLED_JOB = 'pooled';

export function containerLabels(owner: SandboxOwner, jobId: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_DEPLOYMENT]: owner.deployment, [LABEL_OWNER]: owner.ownerId, [LABEL_JOB]: jobId };
}

/**
 * Kubernetes runner pods carry RUNNER_POD_LABELS. The NetworkPolicy that denies them all ingress and egress
 * (components/kubernetesSpecs.ts) selects exactly these labels: the pods' network isolation depends on the
 * two staying the same, so both read them from here.
 */
export const LABEL_NAME = 'app.kubernetes.io/name';
export const APP_NAME = 'code-execution';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const RUNNER_COMPONENT = 'runner';
export const RUNNER_POD_LABELS: Readonly<Record<string, string>> = { [LABEL_NAME]: APP_NAME, [LABEL_COMPONENT]: RUNNER_COMPONENT };
