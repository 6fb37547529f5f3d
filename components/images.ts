// code-execution:images:Images — the worker and runner images, built from worker/Dockerfile and runner/Dockerfile
// (the same files `npm run images` builds) and pushed to a registry (ECR, Artifact Registry), or kept in the local
// engine for the local target. Needs `npm run build` first (runner/Dockerfile copies the language scripts from dist/) and the base
// images (`npm run images` makes them where no image registry is reachable).
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the build context of both Dockerfiles. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ImageRegistry {
  /** Registry host, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com or us-central1-docker.pkg.dev. */
  readonly server: pulumi.Input<string>;
  readonly username: pulumi.Input<string>;
  readonly password: pulumi.Input<string>;
}

export interface ImagesArgs {
  /** Where to push. Omit for images that stay in the local Docker engine (the local target). */
  readonly registry?: ImageRegistry;
  /** Image names without tag: repository URLs when pushing. Defaults to code-worker and code-runner. */
  readonly workerRepository?: pulumi.Input<string>;
  readonly runnerRepository?: pulumi.Input<string>;
  /** Defaults to latest. */
  readonly tag?: string;
  /**
   * The platform to build for (the clouds' imagePlatform: linux/amd64 or linux/arm64). Defaults to none: the Docker
   * engine's own platform, which is what the local target runs them on (arm64 on a Mac with Apple silicon, where an
   * emulated amd64 runner could not install its seccomp filter).
   */
  readonly platform?: string;
  /** The runner image's languages (runner/Dockerfile's LANGUAGES): `all` (the default) or recipe names, comma-separated. */
  readonly runnerLanguages?: string;
}

/** Locally added CAs, for building behind a TLS-intercepting proxy (as scripts/images.sh passes them). */
function extraCaCerts(dir = '/usr/local/share/ca-certificates'): string {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.crt'))
      .sort()
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
  } catch {
    return '';
  }
}

export interface ImageBuild {
  /** Name without tag: a repository URL when pushing. */
  readonly repository: pulumi.Input<string>;
  /** The Dockerfile, relative to the repository root (the build context). */
  readonly dockerfile: string;
  readonly tag: string;
  readonly platform?: string;
  /** Where to push; absent: the image stays in the local engine. */
  readonly registry?: ImageRegistry;
  readonly buildArgs?: Record<string, string>;
}

/** One image built from a Dockerfile of this repository; its reference: a digest when pushed, the local tag otherwise. */
export function buildImage(name: string, build: ImageBuild, parent: pulumi.Resource): pulumi.Output<string> {
  const push = build.registry !== undefined;
  const image = new docker.Image(
    name,
    {
      imageName: pulumi.interpolate`${build.repository}:${build.tag}`,
      build: {
        context: REPO_ROOT,
        dockerfile: join(REPO_ROOT, build.dockerfile),
        ...(build.platform ? { platform: build.platform } : {}),
        args: { EXTRA_CA_CERTS: extraCaCerts(), ...build.buildArgs },
      },
      skipPush: !push,
      ...(push ? { registry: build.registry } : {}),
    },
    { parent },
  );
  // A pushed image is referenced by digest, so a task or pod always runs exactly what this update built.
  return push ? image.repoDigest : image.imageName;
}

export class Images extends pulumi.ComponentResource {
  /** Image references the deployments use: immutable digests when pushed, the local tag otherwise. */
  readonly workerImage: pulumi.Output<string>;
  readonly runnerImage: pulumi.Output<string>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:images:Images', name, {}, opts);
    const a = { workerRepository: 'code-worker', runnerRepository: 'code-runner', tag: 'latest', runnerLanguages: 'all', ...args };
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(a.tag)) throw new Error(`Images ${name}: tag ${JSON.stringify(a.tag)} is not a valid image tag`);
    const common = { tag: a.tag, platform: a.platform, registry: args.registry };
    this.workerImage = buildImage(`${name}-worker`, { ...common, repository: a.workerRepository, dockerfile: 'worker/Dockerfile' }, this);
    this.runnerImage = buildImage(`${name}-runner`, { ...common, repository: a.runnerRepository, dockerfile: 'runner/Dockerfile', buildArgs: { LANGUAGES: a.runnerLanguages } }, this);
    this.registerOutputs({ workerImage: this.workerImage, runnerImage: this.runnerImage });
  }
}
