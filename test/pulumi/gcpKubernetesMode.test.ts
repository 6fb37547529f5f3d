// The gcp stack with runnerMode=kubernetes (Pulumi.gcp.yaml plus that one override): the worker runs alone and starts
// a runner Job per run, so it gets a ServiceAccount and a Role limited to Jobs, ConfigMaps, Pods and pod logs.
import { beforeAll, describe, expect, it } from 'vitest';
import { RUNNER_POD_LABELS } from '../../core/labels.js';
import { runStack, type StackRun } from './harness.js';

let run: StackRun;
beforeAll(async () => {
  run = await runStack('gcp', { 'code-execution:runnerMode': 'kubernetes' });
});

describe('Pulumi.gcp.yaml with runnerMode kubernetes, under mocks', () => {
  it('exports the mode', () => {
    expect(run.program.runnerMode).toBe('kubernetes');
  });

  it('a ServiceAccount and a Role limited to jobs, configmaps, pods and pods/log in the namespace, bound to it', () => {
    const sa = run.one('kubernetes:core/v1:ServiceAccount', '-workload-worker-sa');
    expect(sa.inputs.metadata).toMatchObject({ name: 'code-execution-worker', namespace: 'code-execution' });
    const role = run.one('kubernetes:rbac.authorization.k8s.io/v1:Role');
    expect(role.inputs.metadata.namespace).toBe('code-execution');
    const rules = role.inputs.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    expect(rules.flatMap((r) => r.resources).sort()).toEqual(['configmaps', 'jobs', 'pods', 'pods/log']);
    expect(rules.flatMap((r) => r.verbs)).not.toContain('*');
    // Nothing cluster-wide for the worker (the cluster roles are the metrics adapter's and the HPA controller's).
    const clusterSubjects = run.all('kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding').flatMap((b) => b.inputs.subjects as { name: string; namespace?: string }[]);
    expect(clusterSubjects.map((s) => `${s.namespace}/${s.name}`).sort()).toEqual([
      'custom-metrics/custom-metrics-stackdriver-adapter',
      'custom-metrics/custom-metrics-stackdriver-adapter',
      'kube-system/horizontal-pod-autoscaler',
    ]);
    const binding = run.one('kubernetes:rbac.authorization.k8s.io/v1:RoleBinding', '-workload-runner-jobs');
    expect(binding.inputs).toMatchObject({
      roleRef: { kind: 'Role', name: role.inputs.metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: 'code-execution-worker', namespace: 'code-execution' }],
    });
  });

  it('the worker runs alone with that ServiceAccount, RUNNER_MODE=kubernetes, the runner image and the namespace', () => {
    const spec = run.one('kubernetes:apps/v1:Deployment', '-workers').inputs.spec.template.spec;
    expect(spec.containers.map((c: { name: string }) => c.name)).toEqual(['worker']);
    expect(spec).toMatchObject({ serviceAccountName: 'code-execution-worker', automountServiceAccountToken: true });
    const env = Object.fromEntries(spec.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    expect(env).toMatchObject({ RUNNER_MODE: 'kubernetes', K8S_NAMESPACE: 'code-execution', RUNNER_IMAGE: run.outputs.runnerImage });
    expect(env.SIDECAR_DIR).toBeUndefined();
  });

  it('runner pods (the Jobs) are denied all ingress and egress, selected by the labels the transport gives them', () => {
    const deny = run.all('kubernetes:networking.k8s.io/v1:NetworkPolicy').find((p) => p.name.endsWith('runner-deny-all'))!;
    expect(deny.inputs.spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
    expect(deny.inputs.spec.podSelector.matchLabels).toEqual(RUNNER_POD_LABELS);
  });

  it('the namespace admits the runner Jobs (uid 0 with SETUID and SETGID): Pod Security baseline', () => {
    expect(run.one('kubernetes:core/v1:Namespace', '-workload-namespace').inputs.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'baseline' });
  });
});
