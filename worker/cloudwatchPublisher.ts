// Queue metrics for AWS autoscaling (CLOUDWATCH_METRICS=true): every CLOUDWATCH_INTERVAL_MS, PutMetricData
// to CLOUDWATCH_NAMESPACE with `QueueDepth` (entries not yet delivered to a worker: the group's lag, see
// queueDepth.ts) and `PendingJobs` (delivered, not yet acknowledged), Unit Count, no dimensions: what the ECS
// service's target-tracking policy names (namespace CodeExecution, metric QueueDepth, statistic Average).
// A failure is logged and the next round tries again; it never stops the worker.
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { RedisClient } from './redisConnection.js';
import type { Logger } from '../core/logger.js';
import { sampleQueue, type QueueSample } from './queueDepth.js';

export const QUEUE_DEPTH_METRIC = 'QueueDepth';
export const PENDING_JOBS_METRIC = 'PendingJobs';

export interface CloudWatchPublisherOptions {
  redis: RedisClient;
  streamKey: string;
  consumerGroup: string;
  /** Defaults to CodeExecution. */
  namespace?: string;
  /** Defaults to 60000. */
  intervalMs?: number;
  /** Defaults to us-east-1. */
  region?: string;
  /** An endpoint other than AWS's; the SDK also honours AWS_ENDPOINT_URL_CLOUDWATCH. */
  endpoint?: string;
  /** For tests: a client to use instead of one built from the options. */
  client?: CloudWatchClient;
  log: Logger;
}

export class CloudWatchPublisher {
  private readonly o: Required<Omit<CloudWatchPublisherOptions, 'endpoint' | 'client'>>;
  private readonly client: CloudWatchClient;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<QueueSample | null> | null = null;
  private closed: Promise<void> | null = null;

  constructor(options: CloudWatchPublisherOptions) {
    this.o = { namespace: 'CodeExecution', intervalMs: 60_000, region: 'us-east-1', ...options };
    if (this.o.intervalMs < 1) throw new Error(`CloudWatchPublisher: intervalMs must be ≥ 1, got ${this.o.intervalMs}`);
    // Credentials come from the SDK's default chain (environment, profile, task role).
    this.client =
      options.client ??
      new CloudWatchClient({
        region: this.o.region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        requestHandler: { connectionTimeout: 5000, requestTimeout: 15_000 },
        maxAttempts: 2,
      });
  }

  /** Publishes now, then every intervalMs, until close(). */
  start(): void {
    if (this.timer || this.closed) return;
    void this.publish();
    this.timer = setInterval(() => void this.publish(), this.o.intervalMs);
  }

  /** One round: reads the queue and puts both metrics. Returns what it published, or null after logging why not. */
  publish(): Promise<QueueSample | null> {
    // A slow round is not overlapped by the next one.
    this.inFlight ??= this.publishOnce().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async publishOnce(): Promise<QueueSample | null> {
    try {
      const q = await sampleQueue(this.o.redis, this.o.streamKey, this.o.consumerGroup);
      const Timestamp = new Date();
      await this.client.send(new PutMetricDataCommand({
        Namespace: this.o.namespace,
        MetricData: [
          { MetricName: QUEUE_DEPTH_METRIC, Value: q.lag, Unit: 'Count', Timestamp },
          { MetricName: PENDING_JOBS_METRIC, Value: q.pending, Unit: 'Count', Timestamp },
        ],
      }));
      this.o.log.debug('published queue metrics to CloudWatch', { namespace: this.o.namespace, queueDepth: q.lag, pendingJobs: q.pending });
      return q;
    } catch (err) {
      this.o.log.warn('publishing queue metrics to CloudWatch failed; trying again next interval', {
        namespace: this.o.namespace, error: `${(err as Error).name}: ${(err as Error).message}`, retryInMs: this.o.intervalMs,
      });
      return null;
    }
  }

  /** Stops the timer and waits for a round in flight. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.inFlight;
      this.client.destroy();
    })();
    return this.closed;
  }
}
