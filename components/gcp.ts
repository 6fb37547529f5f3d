// code-execution:gcp:Environment — a GKE Autopilot cluster running the shared Kubernetes workload, Memorystore Redis
// and Cloud SQL PostgreSQL reached over private service access (no public IPs), the code bucket in GCS (read by
// the workers through its S3-compatible API with an HMAC key of their own service account), and the images in
// Artifact Registry.
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { gkeKubeconfig } from './gkeKubeconfig.js';
import { Images } from './images.js';
import { KubernetesWorkload } from './kubernetesWorkload.js';
import { POSTGRES_PORT } from './awsPolicies.js';

/** GCS's S3-compatible (XML) API: the workers' S3 client talks to it with an HMAC key, path-style. */
export const GCS_S3_ENDPOINT = 'https://storage.googleapis.com';

export interface GcpEnvironmentArgs {
  /** gcp:project and gcp:region. */
  readonly project: string;
  readonly region: string;
  /** sidecar (runner next to each worker) or kubernetes (a runner Job per run). Defaults to sidecar. */
  readonly runnerMode?: 'sidecar' | 'kubernetes';
  /** Worker replicas the autoscaler keeps between. Default to 2 and 50. */
  readonly minWorkers?: number;
  readonly maxWorkers?: number;
  /** Defaults to 10. */
  readonly queueDepthTarget?: number;
  /** Defaults to 1 in sidecar mode (the sidecar runs one job at a time), 2 in kubernetes mode. */
  readonly maxConcurrentJobs?: number;
  /** Millicores and MB. Default to 500/512 (worker) and 1000/2048 (runner sidecar); see KubernetesWorkloadArgs. */
  readonly workerCpuMillis?: number;
  readonly workerMemoryMb?: number;
  readonly runnerCpuMillis?: number;
  readonly runnerMemoryMb?: number;
  /** Defaults to 512. */
  readonly workspaceSizeMb?: number;
  /** Cloud SQL REGIONAL and Memorystore STANDARD_HA. Defaults to false. */
  readonly multiAz?: boolean;
  /** Defaults to 1 GB, db-g1-small and 20 GB. */
  readonly redisMemoryGb?: number;
  readonly dbTier?: string;
  readonly dbStorageGb?: number;
  /** Defaults to 30. */
  readonly bucketExpirationDays?: number;
}

/** The APIs the stack uses; enabled (and left enabled on destroy, other things in the project may need them). */
export const GCP_SERVICES = [
  'compute.googleapis.com',
  'container.googleapis.com',
  'redis.googleapis.com',
  'sqladmin.googleapis.com',
  'servicenetworking.googleapis.com',
  'artifactregistry.googleapis.com',
  'storage.googleapis.com',
  'iam.googleapis.com',
] as const;

export class GcpEnvironment extends pulumi.ComponentResource {
  readonly outputs: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: GcpEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super('code-execution:gcp:Environment', name, {}, opts);
    const a = {
      runnerMode: 'sidecar' as const,
      minWorkers: 2,
      maxWorkers: 50,
      queueDepthTarget: 10,
      multiAz: false,
      redisMemoryGb: 1,
      dbTier: 'db-g1-small',
      dbStorageGb: 20,
      bucketExpirationDays: 30,
      ...args,
    };
    if (!a.project) throw new Error(`GcpEnvironment ${name}: project is required (pulumi config set gcp:project <id>)`);
    if (!a.region) throw new Error(`GcpEnvironment ${name}: region is required (pulumi config set gcp:region us-central1)`);
    const child = { parent: this };
    const labels = { 'code-execution-stack': pulumi.getStack().toLowerCase().replace(/[^a-z0-9_-]/g, '-') };

    const apis = GCP_SERVICES.map(
      (service) => new gcp.projects.Service(`${name}-${service.split('.')[0]}`, { project: a.project, service, disableOnDestroy: false }, child),
    );
    const afterApis = { parent: this, dependsOn: apis };

    // --- network: one private subnet, Private Google Access, a peering range for Memorystore and Cloud SQL -------
    const network = new gcp.compute.Network(`${name}-vpc`, { project: a.project, autoCreateSubnetworks: false }, afterApis);
    const subnet = new gcp.compute.Subnetwork(
      `${name}-nodes`,
      {
        project: a.project,
        region: a.region,
        network: network.id,
        ipCidrRange: '10.50.0.0/20',
        // Nodes have no external IPs; Google APIs (Artifact Registry, GCS) are reached privately.
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: 'pods', ipCidrRange: '10.52.0.0/14' },
          { rangeName: 'services', ipCidrRange: '10.56.0.0/20' },
        ],
      },
      child,
    );
    const privateRange = new gcp.compute.GlobalAddress(
      `${name}-private-services`,
      { project: a.project, network: network.id, purpose: 'VPC_PEERING', addressType: 'INTERNAL', prefixLength: 16 },
      child,
    );
    const peering = new gcp.servicenetworking.Connection(
      `${name}-private-services`,
      { network: network.id, service: 'servicenetworking.googleapis.com', reservedPeeringRanges: [privateRange.name] },
      child,
    );
    const privateServicesCidr = pulumi.interpolate`${privateRange.address}/${privateRange.prefixLength}`;

    // --- GKE Autopilot, private nodes ----------------------------------------------------------------------------------
    const cluster = new gcp.container.Cluster(
      `${name}`,
      {
        project: a.project,
        location: a.region,
        enableAutopilot: true,
        network: network.id,
        subnetwork: subnet.id,
        ipAllocationPolicy: { clusterSecondaryRangeName: 'pods', servicesSecondaryRangeName: 'services' },
        privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false },
        releaseChannel: { channel: 'REGULAR' },
        deletionProtection: false,
        resourceLabels: labels,
      },
      child,
    );
    const kubeconfig = pulumi
      .all([cluster.name, cluster.endpoint, cluster.masterAuth])
      .apply(([clusterName, endpoint, auth]) => gkeKubeconfig({ name: clusterName, endpoint, clusterCaCertificate: auth.clusterCaCertificate ?? '' }));
    const provider = new k8s.Provider(`${name}-gke`, { kubeconfig: pulumi.secret(kubeconfig) }, child);

    // --- Memorystore Redis: private service access, AUTH ----------------------------------------------------------------
    const redis = new gcp.redis.Instance(
      `${name}-redis`,
      {
        project: a.project,
        region: a.region,
        tier: a.multiAz ? 'STANDARD_HA' : 'BASIC',
        memorySizeGb: a.redisMemoryGb,
        redisVersion: 'REDIS_7_2',
        authorizedNetwork: network.id,
        connectMode: 'PRIVATE_SERVICE_ACCESS',
        authEnabled: true,
        // In-transit TLS would need Memorystore's own CA in the worker; see README (traffic stays on the private
        // peering, and the instance refuses clients without the AUTH string).
        transitEncryptionMode: 'DISABLED',
        labels,
      },
      { parent: this, dependsOn: [peering] },
    );

    // --- Cloud SQL PostgreSQL: private IP only, TLS required -----------------------------------------------------------
    const dbPassword = new random.RandomPassword(`${name}-db-password`, { length: 40, special: false }, child);
    const sql = new gcp.sql.DatabaseInstance(
      `${name}-db`,
      {
        project: a.project,
        region: a.region,
        databaseVersion: 'POSTGRES_16',
        deletionProtection: false,
        settings: {
          tier: a.dbTier,
          availabilityType: a.multiAz ? 'REGIONAL' : 'ZONAL',
          diskSize: a.dbStorageGb,
          diskAutoresize: true,
          ipConfiguration: { ipv4Enabled: false, privateNetwork: network.id, sslMode: 'ENCRYPTED_ONLY' },
          backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true },
          userLabels: labels,
        },
      },
      { parent: this, dependsOn: [peering] },
    );
    const database = new gcp.sql.Database(`${name}-db`, { project: a.project, instance: sql.name, name: 'code_execution' }, child);
    const dbUser = new gcp.sql.User(`${name}-db`, { project: a.project, instance: sql.name, name: 'code_execution', password: dbPassword.result }, child);

    // --- the code bucket, and the workers' identity for it ------------------------------------------------------------
    const bucket = new gcp.storage.Bucket(
      `${name}-code`,
      {
        project: a.project,
        location: a.region.toUpperCase(),
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        forceDestroy: true,
        lifecycleRules: [{ action: { type: 'Delete' }, condition: { age: a.bucketExpirationDays } }],
        labels,
      },
      afterApis,
    );
    const workerAccount = new gcp.serviceaccount.Account(
      `${name}-worker`,
      { project: a.project, accountId: `${name}-worker`.slice(0, 30), displayName: 'code-execution workers (reads the code bucket)' },
      afterApis,
    );
    new gcp.storage.BucketIAMMember(
      `${name}-worker-reads-code`,
      { bucket: bucket.name, role: 'roles/storage.objectViewer', member: pulumi.interpolate`serviceAccount:${workerAccount.email}` },
      child,
    );
    const hmac = new gcp.storage.HmacKey(`${name}-worker`, { project: a.project, serviceAccountEmail: workerAccount.email }, child);

    // --- images in Artifact Registry ------------------------------------------------------------------------------------
    const registry = new gcp.artifactregistry.Repository(
      `${name}-images`,
      { project: a.project, location: a.region, repositoryId: name, format: 'DOCKER', description: 'code-execution worker and runner images', labels },
      afterApis,
    );
    const registryHost = `${a.region}-docker.pkg.dev`;
    const repositoryBase = pulumi.interpolate`${registryHost}/${a.project}/${registry.repositoryId}`;
    const clientConfig = gcp.organizations.getClientConfigOutput(child);
    const images = new Images(
      `${name}-images`,
      {
        registry: { server: registryHost, username: 'oauth2accesstoken', password: pulumi.secret(clientConfig.accessToken) },
        workerRepository: pulumi.interpolate`${repositoryBase}/code-worker`,
        runnerRepository: pulumi.interpolate`${repositoryBase}/code-runner`,
      },
      child,
    );

    // --- the workload ------------------------------------------------------------------------------------------------
    const workload = new KubernetesWorkload(
      `${name}-workload`,
      {
        runnerMode: a.runnerMode,
        workerImage: images.workerImage,
        runnerImage: images.runnerImage,
        minReplicas: a.minWorkers,
        maxReplicas: a.maxWorkers,
        queueDepthTarget: a.queueDepthTarget,
        maxConcurrentJobs: a.maxConcurrentJobs,
        workerCpuMillis: a.workerCpuMillis,
        workerMemoryMb: a.workerMemoryMb,
        runnerCpuMillis: a.runnerCpuMillis,
        runnerMemoryMb: a.runnerMemoryMb,
        workspaceSizeMb: a.workspaceSizeMb,
        s3Bucket: bucket.name,
        s3Region: 'auto',
        s3Endpoint: GCS_S3_ENDPOINT,
        secrets: {
          REDIS_URL: pulumi.interpolate`redis://:${redis.authString}@${redis.host}:${redis.port}`,
          DATABASE_URL: pulumi.interpolate`postgres://${dbUser.name}:${dbPassword.result}@${sql.privateIpAddress}:${POSTGRES_PORT}/${database.name}?sslmode=require`,
          AWS_ACCESS_KEY_ID: hmac.accessId,
          AWS_SECRET_ACCESS_KEY: hmac.secret,
        },
        privateServicesCidr,
      },
      { parent: this, providers: { kubernetes: provider } },
    );

    this.outputs = {
      project: pulumi.output(a.project),
      region: pulumi.output(a.region),
      cluster: cluster.name,
      kubeconfig: pulumi.secret(kubeconfig),
      namespace: workload.namespace,
      bucket: bucket.name,
      redisHost: redis.host,
      databasePrivateIp: sql.privateIpAddress,
      workerImage: images.workerImage,
      runnerImage: images.runnerImage,
      // Memorystore is private to the VPC: submit through a worker pod, which has REDIS_URL.
      submitJob: pulumi.interpolate`gcloud container clusters get-credentials ${cluster.name} --region ${a.region} --project ${a.project} && kubectl -n ${workload.namespace} exec -i deploy/${workload.deploymentName} -c worker -- sh -c 'cat > /tmp/hello.py && node /app/bin/code-exec.js submit /tmp/hello.py' < examples/hello.py`,
    };
    this.registerOutputs(this.outputs);
  }
}
