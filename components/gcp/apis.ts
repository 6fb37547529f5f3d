// The Google APIs the gcp target uses, enabled in the project before anything that needs them (and left enabled on
// destroy: other things in the project may need them).
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export const GCP_SERVICES = [
  'compute.googleapis.com',
  'container.googleapis.com',
  'redis.googleapis.com',
  // Memorystore for Redis Cluster (cluster mode only, enabled always: they cost nothing): its service connection
  // policy, and the service consumer management it creates its Private Service Connect endpoints through (on a fresh
  // project the cluster's creation fails without it).
  'networkconnectivity.googleapis.com',
  'serviceconsumermanagement.googleapis.com',
  'sqladmin.googleapis.com',
  'servicenetworking.googleapis.com',
  'artifactregistry.googleapis.com',
  'storage.googleapis.com',
  'iam.googleapis.com',
] as const;

/** The resource name of an enabled API: `redis.googleapis.com` becomes `<name>-redis`. */
export function apiResourceName(name: string, service: string): string {
  return `${name}-${service.split('.')[0]}`;
}

/** Enables every API of GCP_SERVICES as children of `parent`; what needs them depends on the result. */
export function enableApis(name: string, project: string, parent: pulumi.Resource): gcp.projects.Service[] {
  return GCP_SERVICES.map((service) => new gcp.projects.Service(apiResourceName(name, service), { project, service, disableOnDestroy: false }, { parent }));
}
