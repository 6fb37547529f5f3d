// The data-path settings of the worker configuration: defaults, parsing and messages that name the variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../worker/config.js';

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('data-path configuration', () => {
  it('defaults: no S3, no PostgreSQL, metrics on 9464, CloudWatch off', () => {
    expect(loadConfig({})).toMatchObject({
      s3Bucket: null, s3Endpoint: null, s3Region: 'us-east-1', databaseUrl: null, metricsPort: 9464,
      cloudwatchMetrics: false, cloudwatchNamespace: 'CodeExecution', cloudwatchIntervalMs: 60_000,
    });
  });

  it('reads every variable; S3_REGION falls back to AWS_REGION; empty means unset', () => {
    expect(loadConfig({
      S3_BUCKET: 'code-objects', S3_ENDPOINT: 'http://minio:9000', AWS_REGION: 'eu-west-1',
      DATABASE_URL: 'postgresql://app:pw@db:5432/code', METRICS_PORT: '0',
      CLOUDWATCH_METRICS: 'true', CLOUDWATCH_NAMESPACE: 'Judge', CLOUDWATCH_INTERVAL_MS: '30000',
    })).toMatchObject({
      s3Bucket: 'code-objects', s3Endpoint: 'http://minio:9000', s3Region: 'eu-west-1', awsRegion: 'eu-west-1',
      databaseUrl: 'postgresql://app:pw@db:5432/code', metricsPort: 0,
      cloudwatchMetrics: true, cloudwatchNamespace: 'Judge', cloudwatchIntervalMs: 30_000,
    });
    expect(loadConfig({ S3_REGION: 'ap-south-1', AWS_REGION: 'eu-west-1' }).s3Region).toBe('ap-south-1');
    expect(loadConfig({ S3_BUCKET: '', S3_ENDPOINT: '', DATABASE_URL: '' })).toMatchObject({ s3Bucket: null, s3Endpoint: null, databaseUrl: null });
  });

  it('names each bad value and what it needs, without printing a password', () => {
    const message = problems({
      S3_BUCKET: 'Bad_Bucket', S3_ENDPOINT: 'minio:9000', DATABASE_URL: 'mysql://root:hunter2@db/code',
      METRICS_PORT: '70000', CLOUDWATCH_METRICS: 'yes', CLOUDWATCH_INTERVAL_MS: '10',
    });
    expect(message).toMatch(/S3_BUCKET="Bad_Bucket": must be an S3 bucket name/);
    expect(message).toMatch(/S3_ENDPOINT="minio:9000": must be a URL like http:\/\/127\.0\.0\.1:9000/);
    expect(message).toMatch(/DATABASE_URL="mysql:\/\/root:\*\*\*@db\/code": must be a PostgreSQL URL/);
    expect(message).not.toContain('hunter2');
    expect(message).toMatch(/METRICS_PORT="70000": must be a port number \(0 disables the metrics server\)/);
    expect(message).toMatch(/CLOUDWATCH_METRICS="yes": must be true or false/);
    expect(message).toMatch(/CLOUDWATCH_INTERVAL_MS="10": must be at least 1000/);
  });
});
