// A Secrets Manager secret holding one value, as the ECS task definition's `secrets` inject it: how the aws target
// hands the workers their connection URLs (Redis, PostgreSQL) without putting them in plain environment.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface SecretArgs {
  readonly description: string;
  readonly value: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}

/** Days a deleted secret can still be restored (Secrets Manager's minimum is 7). */
export const SECRET_RECOVERY_WINDOW_DAYS = 7;

/** Creates `<name>-<key>` (the secret and its version, the value marked secret) as children of `parent`. */
export function createSecret(name: string, key: string, args: SecretArgs, parent: pulumi.Resource): aws.secretsmanager.Secret {
  const child = { parent };
  const secret = new aws.secretsmanager.Secret(
    `${name}-${key}`,
    { description: args.description, recoveryWindowInDays: SECRET_RECOVERY_WINDOW_DAYS, tags: args.tags },
    child,
  );
  new aws.secretsmanager.SecretVersion(`${name}-${key}`, { secretId: secret.id, secretString: pulumi.secret(args.value) }, child);
  return secret;
}
