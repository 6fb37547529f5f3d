// The aws target's images: an ECR repository each for the worker and the runner (scanned on push, the last ten
// images kept), and the Images component that builds both and pushes them there.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { Images } from '../images.js';

export interface RegistryArgs {
  /** The runner image's languages (Images' runnerLanguages). */
  readonly runnerLanguages: string;
  /** The platform the images are built for (linux/amd64 or linux/arm64). */
  readonly platform: string;
  readonly tags: Record<string, string>;
}

/** Images each repository keeps; older ones expire. */
export const IMAGES_KEPT = 10;

/** The ECR lifecycle policy document: keep the last `keep` images, whatever their tag. */
export function ecrLifecyclePolicy(keep: number = IMAGES_KEPT): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `keep the last ${keep} images`,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: keep },
        action: { type: 'expire' },
      },
    ],
  });
}

/** Creates `<name>-worker` and `<name>-runner` repositories and `<name>-images` as children of `parent`. */
export function createRegistry(name: string, args: RegistryArgs, parent: pulumi.Resource): Images {
  const child = { parent };
  const repository = (key: string) => {
    const repo = new aws.ecr.Repository(
      `${name}-${key}`,
      { imageTagMutability: 'MUTABLE', imageScanningConfiguration: { scanOnPush: true }, forceDelete: true, tags: args.tags },
      child,
    );
    new aws.ecr.LifecyclePolicy(`${name}-${key}`, { repository: repo.name, policy: ecrLifecyclePolicy() }, child);
    return repo;
  };
  const workerRepo = repository('worker');
  const runnerRepo = repository('runner');
  const token = aws.ecr.getAuthorizationTokenOutput({ registryId: workerRepo.registryId }, child);
  return new Images(
    `${name}-images`,
    {
      registry: { server: token.proxyEndpoint, username: token.userName, password: pulumi.secret(token.password) },
      workerRepository: workerRepo.repositoryUrl,
      runnerRepository: runnerRepo.repositoryUrl,
      runnerLanguages: args.runnerLanguages,
      platform: args.platform,
    },
    child,
  );
}
