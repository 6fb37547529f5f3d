// The execution role of an ECS task: what ECS itself does for the task (pull the images, write the logs) and the
// Secrets Manager secrets it injects through `secrets`, exactly those. One per service, so the workers and the API
// each read only their own secrets.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ecsTasksAssumeRolePolicy, executionRoleSecretsPolicy } from '../awsPolicies.js';

/** Creates `<prefix>-execution` (the role and its managed policy) and `<prefix>-execution-secrets` under `parent`. */
export function createExecutionRole(
  prefix: string,
  secrets: Pick<aws.secretsmanager.Secret, 'arn'>[],
  tags: Record<string, string>,
  parent: pulumi.Resource,
): aws.iam.Role {
  const child = { parent };
  const role = new aws.iam.Role(`${prefix}-execution`, { assumeRolePolicy: JSON.stringify(ecsTasksAssumeRolePolicy()), tags }, child);
  new aws.iam.RolePolicyAttachment(
    `${prefix}-execution`,
    { role: role.name, policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy' },
    child,
  );
  new aws.iam.RolePolicy(
    `${prefix}-execution-secrets`,
    { role: role.id, policy: pulumi.all(secrets.map((s) => s.arn)).apply((arns) => JSON.stringify(executionRoleSecretsPolicy(arns))) },
    child,
  );
  return role;
}
