import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../worker/config.js';

describe('worker configuration', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      streamKey: 'code-execution-jobs', consumerGroup: 'execution-workers', runnerMode: 'auto',
      maxConcurrentJobs: 2, maxDeliveries: 3, shutdownGraceMs: 25_000, resultTtlSeconds: 86_400,
    });
    expect(c.caps.maxMemoryLimitMb).toBe(1024);
  });

  it('reads caps from the environment', () => {
    expect(loadConfig({ MAX_MEMORY_LIMIT_MB: '512', MAX_CODE_BYTES: '1000' }).caps).toMatchObject({ maxMemoryLimitMb: 512, maxCodeBytes: 1000 });
  });

  it('names every bad variable and what it needs', () => {
    let error: unknown;
    try {
      loadConfig({ MAX_CONCURRENT_JOBS: 'lots', RUNNER_MODE: 'vm', REDIS_URL: 'localhost', MAX_TIME_LIMIT_MS: '-1', CLAIM_IDLE_MS: '5' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/MAX_CONCURRENT_JOBS="lots": must be a number/);
    expect(message).toMatch(/RUNNER_MODE="vm": must be one of auto, docker, process/);
    expect(message).toMatch(/REDIS_URL="localhost": must be a URL/);
    expect(message).toMatch(/MAX_TIME_LIMIT_MS="-1": must be a whole number/);
    expect(message).toMatch(/CLAIM_IDLE_MS="5": must be at least 1000/);
  });

  it('has the hostile-input caps, and refuses an argument cap that exec would refuse', () => {
    expect(loadConfig({}).caps).toMatchObject({
      maxJobBytes: 16 << 20, maxResultBytes: 8 << 20, maxJobWallTimeMs: 600_000, maxArgBytes: 4096, maxArgsBytes: 65536, maxExpectedOutputBytes: 4 << 20,
    });
    expect(loadConfig({ MAX_RESULT_BYTES: '1048576', MAX_JOB_WALL_TIME_MS: '10000' }).caps).toMatchObject({ maxResultBytes: 1 << 20, maxJobWallTimeMs: 10_000 });
    expect(() => loadConfig({ MAX_ARG_BYTES: '200000' })).toThrow(/MAX_ARG_BYTES=200000: must be at most 131072/);
  });
});
