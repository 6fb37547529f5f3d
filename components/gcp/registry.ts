// The gcp target's images: an Artifact Registry Docker repository, and the Images component that builds the worker
// and runner images and pushes them there with the deployer's access token.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { Images } from '../images.js';

export interface RegistryArgs {
  /** The runner image's languages (Images' runnerLanguages). */
  readonly runnerLanguages: string;
  readonly project: string;
  readonly region: string;
  /** What must exist first: the enabled APIs. */
  readonly dependsOn: pulumi.Resource[];
  readonly labels: Record<string, string>;
  /** Who may pull from the repository, by a name for each (`<name>-<key>-pull-images`): e.g. the GKE nodes. */
  readonly readers?: Record<string, pulumi.Input<string>>;
  /** The platform the images are built for (linux/amd64 or linux/arm64). Defaults to linux/amd64. */
  readonly platform?: string;
}

/** The Docker host of a region's Artifact Registry. */
export const artifactRegistryHost = (region: string): string => `${region}-docker.pkg.dev`;

/** Creates the `<name>-images` repository and `<name>-images` (the images) as children of `parent`. */
export function createRegistry(name: string, args: RegistryArgs, parent: pulumi.Resource): Images {
  const child = { parent };
  const repository = new gcp.artifactregistry.Repository(
    `${name}-images`,
    { project: args.project, location: args.region, repositoryId: name, format: 'DOCKER', description: 'code-execution worker and runner images', labels: args.labels },
    { parent, dependsOn: args.dependsOn },
  );
  for (const [key, member] of Object.entries(args.readers ?? {})) {
    new gcp.artifactregistry.RepositoryIamMember(
      `${name}-${key}-pull-images`,
      { project: args.project, location: args.region, repository: repository.repositoryId, role: 'roles/artifactregistry.reader', member },
      child,
    );
  }
  const host = artifactRegistryHost(args.region);
  const base = pulumi.interpolate`${host}/${args.project}/${repository.repositoryId}`;
  const clientConfig = gcp.organizations.getClientConfigOutput(child);
  return new Images(
    `${name}-images`,
    {
      registry: { server: host, username: 'oauth2accesstoken', password: pulumi.secret(clientConfig.accessToken) },
      workerRepository: pulumi.interpolate`${base}/code-worker`,
      runnerRepository: pulumi.interpolate`${base}/code-runner`,
      runnerLanguages: args.runnerLanguages,
      platform: args.platform ?? 'linux/amd64',
    },
    child,
  );
}
