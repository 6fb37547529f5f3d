// Prometheus metrics of one worker, in a registry of its own (not prom-client's global one): the queue as
// Redis sees it, sampled on every scrape, and the jobs this worker finished, from its events. The GKE
// HorizontalPodAutoscaler reads `redis_stream_lag` through an external-metrics adapter.
import type { EventEmitter } from 'node:events';
import type { RedisClient } from './redisConnection.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { sampleQueue } from './queueDepth.js';
import type { WorkerEvents } from './streamConsumer.js';

/** Seconds: from a rejection (milliseconds) to the longest wall limit a cap allows, plus compile time. */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

export interface MetricsSource {
  /** A connection the metrics may use (never a blocking one). */
  redis: RedisClient;
  streamKey: string;
  consumerGroup: string;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly streamLength: Gauge<'stream'>;
  private readonly streamPending: Gauge<'stream' | 'group'>;
  private readonly streamLag: Gauge<'stream' | 'group'>;
  private readonly jobs: Counter<'status'>;
  private readonly duration: Histogram<'status'>;
  private readonly failures: Counter;
  private readonly deadLetters: Counter;

  constructor(private readonly source: MetricsSource, private readonly log: Logger) {
    const registers = [this.registry];
    this.streamLength = new Gauge({ name: 'redis_stream_length', help: 'Entries in the job stream (XLEN), acknowledged ones included.', labelNames: ['stream'], registers });
    this.streamPending = new Gauge({ name: 'redis_stream_pending', help: 'Entries delivered to a worker and not yet acknowledged (XPENDING).', labelNames: ['stream', 'group'], registers });
    this.streamLag = new Gauge({ name: 'redis_stream_lag', help: 'Entries not yet delivered to the consumer group: jobs waiting for a worker.', labelNames: ['stream', 'group'], registers });
    this.jobs = new Counter({ name: 'code_execution_jobs_total', help: 'Results this worker stored, by status.', labelNames: ['status'], registers });
    this.duration = new Histogram({ name: 'code_execution_job_duration_seconds', help: 'From claiming a job to its result, by status.', labelNames: ['status'], buckets: DURATION_BUCKETS, registers });
    this.failures = new Counter({ name: 'code_execution_job_failures_total', help: 'Jobs left pending for a retry after an infrastructure failure (transport, S3).', registers });
    this.deadLetters = new Counter({ name: 'code_execution_dead_letters_total', help: 'Entries this worker sent to the dead-letter stream.', registers });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts what a worker does from its events. */
  observe(worker: EventEmitter<WorkerEvents>): void {
    worker.on('job:completed', (r) => {
      this.jobs.inc({ status: r.status });
      const seconds = (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000;
      if (Number.isFinite(seconds)) this.duration.observe({ status: r.status }, Math.max(0, seconds));
    });
    worker.on('job:failed', () => this.failures.inc());
    worker.on('entry:dead', () => this.deadLetters.inc());
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text, with the stream gauges read from Redis just now. */
  async render(): Promise<string> {
    const { redis, streamKey: stream, consumerGroup: group } = this.source;
    try {
      const q = await sampleQueue(redis, stream, group);
      this.streamLength.set({ stream }, q.length);
      this.streamPending.set({ stream, group }, q.pending);
      this.streamLag.set({ stream, group }, q.lag);
    } catch (err) {
      // No number beats a stale one: an autoscaler must not act on a queue nobody can see.
      this.streamLength.reset();
      this.streamPending.reset();
      this.streamLag.reset();
      this.log.warn('reading the queue for /metrics failed', { error: (err as Error).message });
    }
    return this.registry.metrics();
  }
}
