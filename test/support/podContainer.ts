// A Kubernetes runner Job's pod, run for real on Docker (no cluster runs here): what the kubernetes transport asks for,
// reproduced field by field, so its tests judge the reports the executor really writes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/* eslint-disable @typescript-eslint/no-explicit-any -- a Job body as the API server received it */
/**
 * The pod of a Job the transport created, run for real: its one container as the Job spec has it (image, command,
 * user, read-only root, capabilities, no privilege escalation, memory and CPU, its emptyDir volumes as tmpfs of their
 * size limits, the ConfigMap's file mounted read-only at its path), no network (the NetworkPolicy's effect). What the
 * executor printed is the pod log.
 */
export function runPodContainer(body: any, configMap: (name: string) => { binaryData?: Record<string, string> }, image: string): string {
  const pod = body.spec.template.spec;
  const [c] = pod.containers;
  const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
  const work = mkdtempSync(join(tmpdir(), 'pod-'));
  const args = ['run', '--rm', '--network', 'none', '--user', `${c.securityContext.runAsUser}:${c.securityContext.runAsGroup}`, '--cpus', c.resources.limits.cpu,
    '--memory', c.resources.limits.memory.replace('Mi', 'm'), '--memory-swap', c.resources.limits.memory.replace('Mi', 'm'), '--cap-drop', 'ALL',
    ...c.securityContext.capabilities.add.flatMap((cap: string) => ['--cap-add', cap]), '--security-opt', 'no-new-privileges', '-w', c.workingDir];
  if (c.securityContext.readOnlyRootFilesystem) args.push('--read-only');
  for (const m of c.volumeMounts) {
    const v = volumes[m.name];
    if (v.emptyDir) args.push('--tmpfs', `${m.mountPath}:rw,nosuid,nodev,exec,size=${v.emptyDir.sizeLimit.replace('Mi', 'm')}${m.readOnly ? ',ro' : ''}`);
    else {
      const cm = configMap(v.configMap.name);
      for (const item of v.configMap.items) {
        writeFileSync(join(work, item.path), Buffer.from(cm.binaryData![item.key], 'base64'), { mode: v.configMap.defaultMode });
        args.push('-v', `${join(work, item.path)}:${m.mountPath}/${item.path}:ro`);
      }
    }
  }
  try {
    return execFileSync('docker', [...args, '--entrypoint', c.command[0], image, ...c.command.slice(1)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

