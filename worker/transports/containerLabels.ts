// Labels on every container and Kubernetes object we start: how the reaper recognises ours and whose they are.
export const LABEL_MANAGED = 'code-execution.managed';
export const LABEL_OWNER = 'code-execution.owner';
export const LABEL_JOB = 'code-execution.job';

/** LABEL_JOB of a warm-pool container no job has taken yet (labels cannot change later). */
export const POOLED_JOB = 'pooled';

export function containerLabels(ownerId: string, jobId: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_OWNER]: ownerId, [LABEL_JOB]: jobId };
}

/**
 * Kubernetes runner pods carry this label (value RUNNER_COMPONENT). The NetworkPolicy that denies them all
 * ingress and egress selects it: the pods' network isolation depends on the two staying the same.
 */
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const RUNNER_COMPONENT = 'runner';
