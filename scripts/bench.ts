// `npm run bench`: end-to-end latency and throughput of trivial jobs, XADD to result available, through each
// transport that runs here, against a bare process spawned on this machine in the same run. Prints a table
// and writes the figures as JSON (bench-results.json, or BENCH_OUT) for tracking across commits.
//
//   BENCH_N (default 40)          sequential jobs per latency series
//   BENCH_THROUGHPUT (default 200) jobs in the throughput run, MAX_CONCURRENT_JOBS=2
//   BENCH_MODES (default process-cold,process-warm,docker-cold,docker-warm): -cold sets POOL_SIZE=0, -warm 2
//   BENCH_GAP_MS (default 1000)   pause between latency jobs in -warm modes, for the pool to refill
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { waitForResult } from '../worker/resultStore.js';
import { startRedis } from '../test/support/redisServer.js';
import { startWorker, type LogLine, type WorkerHandle } from '../test/support/workerProcess.js';

const N = Number(process.env.BENCH_N ?? 40);
const THROUGHPUT_JOBS = Number(process.env.BENCH_THROUGHPUT ?? 200);
const MODES = (process.env.BENCH_MODES ?? 'process-cold,process-warm,docker-cold,docker-warm').split(',');
const OUT = process.env.BENCH_OUT ?? 'bench-results.json';
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 1000);

const PROGRAMS = { python: 'print("hello world")', javascript: 'console.log("hello world")' } as const;
type Language = keyof typeof PROGRAMS;
const BARE_COMMAND: Record<Language, string> = { python: 'python3', javascript: 'node' };

interface Series {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

function series(ms: number[]): Series {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), mean: ms.reduce((a, b) => a + b, 0) / ms.length };
}

function progress(msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ msg, step: 'bench', ...fields })}\n`);
}

/** The PATH jobs run with (runner/executeJob.ts): the baseline runs the same interpreters, not a shim. */
const JOB_PATH = '/usr/local/bin:/usr/bin:/bin';

function spawnOnce(command: string, file: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [file], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: JOB_PATH, LANG: 'C.UTF-8' } });
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${command} exited ${code}`))));
  });
}

/** Runs `jobs` tasks, `concurrency` at a time; returns the elapsed ms. */
async function inParallel(jobs: number, concurrency: number, task: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < jobs) await task();
  }));
  return performance.now() - t0;
}

interface BareFigures {
  latency: Record<Language, Series>;
  throughputPerS: number;
}

async function bare(): Promise<BareFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const files = { python: join(dir, 'hello.py'), javascript: join(dir, 'hello.js') };
  for (const l of Object.keys(PROGRAMS) as Language[]) writeFileSync(files[l], PROGRAMS[l]);
  const latency = {} as Record<Language, Series>;
  for (const l of Object.keys(PROGRAMS) as Language[]) {
    await spawnOnce(BARE_COMMAND[l], files[l]);
    const ms: number[] = [];
    for (let i = 0; i < N; i++) ms.push(await spawnOnce(BARE_COMMAND[l], files[l]));
    latency[l] = series(ms);
  }
  const elapsed = await inParallel(THROUGHPUT_JOBS, 2, () => spawnOnce('python3', files.python));
  return { latency, throughputPerS: THROUGHPUT_JOBS / (elapsed / 1000) };
}

/** The worker process's own CPU (user + system) so far, in ms, from /proc. */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function processRssMb(pid: number): number {
  const kb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * Where a python job's time went, mean ms per job: the worker's "job completed" log (its phases, from the
 * worker, the transport and the runner) and what the bench saw around it.
 */
interface Phases {
  /** XADD until the worker started the job (queued, read, validated). */
  claimMs: number;
  /** A pooled sandbox taken and fitted, or one set up for the job (tmpfs, cgroup, container created). */
  sandboxMs: number;
  /** The runner's share besides its phases below: its start where not started ahead, job in, result out. */
  runnerMs: number;
  /** The runner writing sources and inputs into the workspace. */
  workspaceMs: number;
  compileMs: number;
  /** Every case run and measured by the runner... */
  runMs: number;
  /** ...of which the program itself (its wall time, measured by the launcher). */
  programMs: number;
  /** The result stored (Redis, and PostgreSQL where configured). */
  storeMs: number;
  ackMs: number;
  /** What is left: the worker's own bookkeeping, the announcement and the waiter waking. */
  restMs: number;
}

interface ModeFigures {
  mode: string;
  latency: Record<Language, Series>;
  phases: Phases;
  throughputPerS: number;
  workerCpuMsPerJob: number;
  workerRssMb: { start: number; end: number };
}

async function runJob(redis: Redis, waiter: Redis, stream: string, language: Language): Promise<{ id: string; ms: number; programMs: number }> {
  const id = randomUUID();
  const p0 = performance.now();
  await redis.xadd(stream, '*', 'job', JSON.stringify({ id, language, code: PROGRAMS[language] }));
  const result = await waitForResult(waiter, id, 120_000);
  const ms = performance.now() - p0;
  if (!result || result.status !== 'accepted') throw new Error(`job ${id} failed: ${JSON.stringify(result)}`);
  return { id, ms, programMs: result.wallTimeMs };
}

/** The job's phases as the worker logged them, completed by what the bench measured around the job. */
async function phasesOf(worker: WorkerHandle, job: { id: string; ms: number; programMs: number }): Promise<Phases> {
  const line = await worker.waitForLog((l: LogLine) => l.msg === 'job completed' && l.jobId === job.id, 10_000, `"job completed" for ${job.id}`);
  const logged = line.phases as Record<string, number | undefined>;
  const get = (key: string) => logged[key] ?? 0;
  const runner = get('runnerMs');
  const own = get('workspaceMs') + get('compileMs') + get('runMs');
  const phases: Omit<Phases, 'restMs'> = {
    claimMs: get('claimMs'),
    sandboxMs: get('sandboxMs'),
    runnerMs: runner - own,
    workspaceMs: get('workspaceMs'),
    compileMs: get('compileMs'),
    runMs: get('runMs'),
    programMs: job.programMs,
    storeMs: get('storeMs'),
    ackMs: get('ackMs'),
  };
  const accounted = phases.claimMs + phases.sandboxMs + runner + phases.storeMs + phases.ackMs;
  return { ...phases, restMs: job.ms - accounted };
}

async function measureMode(mode: string, redisUrl: string, redis: Redis): Promise<ModeFigures> {
  const stream = `bench-${mode}-${randomUUID()}`;
  const [runnerMode, pool] = mode.split('-');
  const warm = pool === 'warm';
  const worker = startWorker({
    REDIS_URL: redisUrl, STREAM_KEY: stream, RUNNER_MODE: runnerMode, MAX_CONCURRENT_JOBS: '2',
    POOL_SIZE: warm ? '2' : '0', METRICS_PORT: '0', LOG_LEVEL: 'info',
  });
  const waiter = redis.duplicate();
  try {
    await worker.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"');
    for (let i = 0; i < 3; i++) await runJob(redis, waiter, stream, 'python');
    const pid = worker.proc.pid!;
    const rssStart = processRssMb(pid);
    const latency = {} as Record<Language, Series>;
    const phases: Phases[] = [];
    for (const language of Object.keys(PROGRAMS) as Language[]) {
      const ms: number[] = [];
      for (let i = 0; i < N; i++) {
        const r = await runJob(redis, waiter, stream, language);
        ms.push(r.ms);
        // Let a warm pool refill between jobs, as it would between requests that are not back to back.
        if (warm) await new Promise((res) => setTimeout(res, GAP_MS));
        if (language === 'python') phases.push(await phasesOf(worker, r));
      }
      latency[language] = series(ms);
      progress('latency measured', { mode, language, p50: Math.round(latency[language].p50) });
    }
    const cpuBefore = processCpuMs(pid);
    const t0 = performance.now();
    const ids = Array.from({ length: THROUGHPUT_JOBS }, () => randomUUID());
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'python', code: PROGRAMS.python }));
    await pipeline.exec();
    for (const id of ids) {
      const r = await waitForResult(waiter, id, 300_000);
      if (r?.status !== 'accepted') throw new Error(`throughput job ${id}: ${JSON.stringify(r)}`);
    }
    const elapsed = performance.now() - t0;
    const cpu = processCpuMs(pid) - cpuBefore;
    progress('throughput measured', { mode, jobsPerS: Number((THROUGHPUT_JOBS / (elapsed / 1000)).toFixed(1)) });
    const mean = Object.fromEntries(Object.keys(phases[0]).map((k) => [k, phases.reduce((n, p) => n + p[k as keyof Phases], 0) / phases.length])) as unknown as Phases;
    return {
      mode,
      latency,
      phases: mean,
      throughputPerS: THROUGHPUT_JOBS / (elapsed / 1000),
      workerCpuMsPerJob: cpu / THROUGHPUT_JOBS,
      workerRssMb: { start: rssStart, end: processRssMb(pid) },
    };
  } finally {
    waiter.disconnect();
    await worker.stop();
  }
}

const f1 = (n: number) => n.toFixed(1);

function table(base: BareFigures, modes: ModeFigures[]): string {
  const rows = [
    '| series | python p50 / p95 / p99 (ms) | ratio p50 | node p50 / p95 / p99 (ms) | ratio p50 | throughput (jobs/s, 2 at once) | ratio | worker CPU per job (ms) |',
    '|---|---|---|---|---|---|---|---|',
    `| bare process | ${f1(base.latency.python.p50)} / ${f1(base.latency.python.p95)} / ${f1(base.latency.python.p99)} | 1.00 | ${f1(base.latency.javascript.p50)} / ${f1(base.latency.javascript.p95)} / ${f1(base.latency.javascript.p99)} | 1.00 | ${f1(base.throughputPerS)} | 1.00 | - |`,
  ];
  for (const m of modes) {
    const py = m.latency.python;
    const js = m.latency.javascript;
    rows.push(`| ${m.mode} | ${f1(py.p50)} / ${f1(py.p95)} / ${f1(py.p99)} | ${(py.p50 / base.latency.python.p50).toFixed(2)} | ${f1(js.p50)} / ${f1(js.p95)} / ${f1(js.p99)} | ${(js.p50 / base.latency.javascript.p50).toFixed(2)} | ${f1(m.throughputPerS)} | ${(m.throughputPerS / base.throughputPerS).toFixed(2)} | ${f1(m.workerCpuMsPerJob)} |`);
  }
  rows.push(
    '',
    'Where a python job\'s time goes (mean ms per job):',
    '',
    '| series | claim | sandbox | runner | workspace | compile | run (program) | store | ack | rest | worker RSS start → end (MB) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const m of modes) {
    const p = m.phases;
    rows.push(`| ${m.mode} | ${[p.claimMs, p.sandboxMs, p.runnerMs, p.workspaceMs, p.compileMs].map(f1).join(' | ')} | ${f1(p.runMs)} (${f1(p.programMs)}) | ${[p.storeMs, p.ackMs, p.restMs].map(f1).join(' | ')} | ${f1(m.workerRssMb.start)} → ${f1(m.workerRssMb.end)} |`);
  }
  return rows.join('\n');
}

const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), node: process.version };
progress('bare baseline', { n: N });
const base = await bare();
const redis = await startRedis();
const modes: ModeFigures[] = [];
try {
  for (const mode of MODES) {
    progress('measuring', { mode });
    modes.push(await measureMode(mode, redis.url, redis.client));
  }
} finally {
  await redis.stop();
}
process.stdout.write(`${table(base, modes)}\n\nmachine: ${JSON.stringify(machine)}\n`);
writeFileSync(OUT, `${JSON.stringify({ at: new Date().toISOString(), machine, n: N, throughputJobs: THROUGHPUT_JOBS, bare: base, modes }, null, 2)}\n`);
progress('written', { file: OUT });
