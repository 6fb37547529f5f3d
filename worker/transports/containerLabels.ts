// Labels on every container we start: how the reaper recognises ours and whose they are.
export const LABEL_MANAGED = 'code-execution.managed';
export const LABEL_OWNER = 'code-execution.owner';
export const LABEL_JOB = 'code-execution.job';

export function containerLabels(ownerId: string, jobId: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_OWNER]: ownerId, [LABEL_JOB]: jobId };
}
