// code-execution:images:Images — the worker and runner images, built from worker/Dockerfile and runner/Dockerfile
// (the same files `npm run images` builds) and pushed to a registry (ECR, Artifact Registry), or kept in the local
// engine for the local target. Needs `npm run build` first (runner/Dockerfile copies dist/runner.js) and the base
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

export class Images extends pulumi.ComponentResource {
  /** Image references the deployments use: immutable digests when pushed, the local tag otherwise. */
  readonly workerImage: pulumi.Output<string>;
  readonly runnerImage: pulumi.Output<string>;

  constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:images:Images', name, {}, opts);
    const a = { workerRepository: 'code-worker', runnerRepository: 'code-runner', tag: 'latest', runnerLanguages: 'all', ...args };
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(a.tag)) throw new Error(`Images ${name}: tag ${JSON.stringify(a.tag)} is not a valid image tag`);
    const push = args.registry !== undefined;
    const build = (image: string, dockerfile: string, repository: pulumi.Input<string>, buildArgs: Record<string, string> = {}) =>
      new docker.Image(
        `${name}-${image}`,
        {
          imageName: pulumi.interpolate`${repository}:${a.tag}`,
          build: {
            context: REPO_ROOT,
            dockerfile: join(REPO_ROOT, dockerfile),
            ...(a.platform ? { platform: a.platform } : {}),
            args: { EXTRA_CA_CERTS: extraCaCerts(), ...buildArgs },
          },
          skipPush: !push,
          ...(push ? { registry: args.registry } : {}),
        },
        { parent: this },
      );
    const worker = build('worker', 'worker/Dockerfile', a.workerRepository);
    const runner = build('runner', 'runner/Dockerfile', a.runnerRepository, { LANGUAGES: a.runnerLanguages });
    // A pushed image is referenced by digest, so a task or pod always runs exactly what this update built.
    this.workerImage = push ? worker.repoDigest : worker.imageName;
    this.runnerImage = push ? runner.repoDigest : runner.imageName;
    this.registerOutputs({ workerImage: this.workerImage, runnerImage: this.runnerImage });
  }
}
