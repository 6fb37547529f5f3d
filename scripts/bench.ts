// `npm run bench`: what a job costs, XADD to result readable, through real workers, against bare processes
// spawned on this machine in the same run. Prints tables and writes every figure as JSON (bench-results.json,
// or BENCH_OUT) for tracking across commits.
//
//   BENCH_N (default 200)            jobs per latency series
//   BENCH_THROUGHPUT (default 200)   jobs per throughput run
//   BENCH_CONCURRENCY (default 1,2,3) MAX_CONCURRENT_JOBS of the throughput runs (bare: that many at a time)
//   BENCH_MODES (default queue-only,process-cold,process-warm,docker-cold,docker-warm,sidecar): -cold is
//                                    POOL_SIZE=0, -warm the default pool; queue-only is the worker loop over a
//                                    transport that answers at once (scripts/queueOnlyWorker.ts): the queue's own
//                                    cost; sidecar is the runner image as a container with the cloud stacks' runner
//                                    settings (2 GB, read-only, four capabilities: test/support/sidecar.ts) and as many
//                                    CPUs as jobs at a time (bare's allowance), sharing the network with a worker on
//                                    this host, as the aws and gcp stacks run it
//   BENCH_GAP_MS (default 1000)      the pause between jobs of the "gap" latency series (warm modes), for the pool
//   BENCH_CPU (default process,docker) modes of the CPU-bound series: 1 s C and python loops, 20 test cases
//   DOCKER_RUNTIME                   passed to the docker-mode workers: the engine's OCI runtime (runc, crun)
//   BENCH_WORKER_NODE_OPTIONS        NODE_OPTIONS of the workers, e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile them
//
// CPU per job is the whole machine's (from /proc/stat: every process, dockerd and containerd included, and the
// kernel's threads), over a throughput run, less nothing: compare it with the bare runs' figure. Beside it, the CPU of
// this process's own tree (the bare programs; Redis, the workers, their supervisors and sandboxes) and of the
// kernel's threads (where namespaces and cgroups are torn down): on a machine others use meanwhile, those are the
// figures to compare (docker-mode containers are the engine's children, not ours: their CPU is only in the first).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { JobResult } from '../core/protocol/result.js';
import { waitForResult } from '../worker/resultStore.js';
import { startRedis } from '../test/support/redisServer.js';
import { startSidecar } from '../test/support/sidecar.js';
import { DOCKER_SOCKET, RUNNER_IMAGE } from '../test/support/services.js';
import { measureEngineCeiling, type EngineCeiling } from './engineCeiling.js';
import { startLoggingProcess, startWorker, type LogLine, type WorkerHandle } from '../test/support/workerProcess.js';

const list = (v: string | undefined, fallback: string) => (v ?? fallback).split(',').filter(Boolean);
const N = Number(process.env.BENCH_N ?? 200);
const THROUGHPUT_JOBS = Number(process.env.BENCH_THROUGHPUT ?? 200);
const CONCURRENCY = list(process.env.BENCH_CONCURRENCY, '1,2,3').map(Number);
const MODES = list(process.env.BENCH_MODES, 'queue-only,process-cold,process-warm,docker-cold,docker-warm,sidecar');
const CPU_MODES = list(process.env.BENCH_CPU, 'process,docker');
const OUT = process.env.BENCH_OUT ?? 'bench-results.json';
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 1000);

const HELLO = 'print("hello world")';
/** The PATH jobs run with (core/judge.ts): the baseline runs the same interpreters, not a shim. */
const JOB_PATH = '/usr/local/bin:/usr/bin:/bin';
/** Each spins until it has used 1 s of CPU: the same work bare and as a job. */
const C_LOOP = '#include <time.h>\nint main(void){while(clock()<CLOCKS_PER_SEC){}return 0;}\n';
const PY_LOOP = 'import time\nwhile time.process_time() < 1:\n    pass\n';

interface Series {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function series(ms: number[]): Series {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { n: ms.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1], mean: ms.reduce((a, b) => a + b, 0) / ms.length };
}

function progress(msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ msg, step: 'bench', ...fields })}\n`);
}

/** Busy CPU of the whole machine so far, in ms (every state of /proc/stat's cpu line but idle and iowait). */
function machineBusyMs(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / 100;
}

/** Each process's parent and CPU so far (user + system, its own and its waited-for children's), in ms. */
function processTable(): Map<number, { comm: string; ppid: number; cpuMs: number; kernelThread: boolean }> {
  const table = new Map<number, { comm: string; ppid: number; cpuMs: number; kernelThread: boolean }>();
  const tick = 1000 / 100;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // After the command's closing parenthesis: state ppid ... utime(12) stime(13) cutime(14) cstime(15) ... flags(7).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      const ppid = Number(f[1]);
      table.set(pid, { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid, cpuMs: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * tick, kernelThread: pid === 2 || ppid === 2 });
    } catch {
      // Gone meanwhile.
    }
  }
  return table;
}

/**
 * CPU so far of this process and everything it started (the bare runs' programs; Redis, the workers, their
 * sandbox supervisors and sandboxes), and of the kernel's threads (namespace and cgroup teardown runs there, as does
 * other processes' work): unlike the machine's busy time, the first does not count what other tenants of a shared
 * machine run meanwhile.
 */
function ownCpuMs(): { own: number; kernelThreads: Map<number, number>; parts: CpuParts } {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, p] of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const parts: CpuParts = { bench: 0, redis: 0, worker: 0, sandboxes: 0 };
  // The bench itself (and the bare programs it waited for), Redis, the workers (node), and the sandbox supervisors
  // with everything under them.
  const stack: [number, keyof CpuParts][] = [[process.pid, 'bench']];
  while (stack.length) {
    const [pid, part] = stack.pop()!;
    const p = table.get(pid);
    const mine: keyof CpuParts = pid === process.pid ? 'bench' : p?.comm === 'redis-server' ? 'redis'
      : part === 'sandboxes' || p?.comm.startsWith('sandbox-') ? 'sandboxes' : 'worker';
    parts[mine] += p?.cpuMs ?? 0;
    for (const child of children.get(pid) ?? []) stack.push([child, mine]);
  }
  // By thread: one that exits meanwhile takes its time with it (a kernel thread has no parent that collects it).
  const kernelThreads = new Map<number, number>();
  for (const [pid, p] of table) if (p.kernelThread) kernelThreads.set(pid, p.cpuMs);
  return { own: parts.bench + parts.redis + parts.worker + parts.sandboxes, kernelThreads, parts };
}

/** CPU by process: the bench (with the bare programs), Redis, the workers, the sandbox supervisors and sandboxes. */
interface CpuParts {
  bench: number;
  redis: number;
  worker: number;
  sandboxes: number;
}

function processRssMb(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0) / 1024;
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

interface Throughput {
  concurrency: number;
  jobsPerS: number;
  /** Busy CPU of the whole machine per job. */
  machineCpuMsPerJob: number;
  /** CPU per job of this process's tree (ownCpuMs): the figure to compare on a machine others use. */
  ownCpuMsPerJob: number;
  /** The kernel threads' CPU per job: the asynchronous teardown of namespaces and cgroups, and others' work. */
  kernelThreadsCpuMsPerJob: number;
  /** ownCpuMsPerJob by process. */
  ownCpuMsPerJobByProcess: CpuParts;
}

async function measureThroughput(concurrency: number, run: () => Promise<number>): Promise<Throughput> {
  const cpu0 = machineBusyMs();
  const own0 = ownCpuMs();
  const elapsed = await run();
  const own1 = ownCpuMs();
  return {
    concurrency, jobsPerS: THROUGHPUT_JOBS / (elapsed / 1000), machineCpuMsPerJob: (machineBusyMs() - cpu0) / THROUGHPUT_JOBS,
    ownCpuMsPerJob: (own1.own - own0.own) / THROUGHPUT_JOBS,
    kernelThreadsCpuMsPerJob: [...own1.kernelThreads].reduce((n, [pid, ms]) => n + ms - (own0.kernelThreads.get(pid) ?? 0), 0) / THROUGHPUT_JOBS,
    ownCpuMsPerJobByProcess: Object.fromEntries(Object.keys(own1.parts).map((k) => [k, (own1.parts[k as keyof CpuParts] - own0.parts[k as keyof CpuParts]) / THROUGHPUT_JOBS])) as unknown as CpuParts,
  };
}

// ---- bare ----

/** Wall and CPU (user + system of the process and its children) of one bare run, in ms. */
function spawnTimed(argv: string[]): Promise<{ wallMs: number; cpuMs: number }> {
  // python's getrusage(RUSAGE_CHILDREN) measures the child the way the launcher does for a job.
  const timer = 'import resource,subprocess,sys,time\nt=time.monotonic()\nc=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL).returncode\nw=time.monotonic()-t\nr=resource.getrusage(resource.RUSAGE_CHILDREN)\nprint(c,w*1000,(r.ru_utime+r.ru_stime)*1000)';
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', timer, ...argv], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: JOB_PATH, LANG: 'C.UTF-8' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const [code, wall, cpu] = out.trim().split(' ').map(Number);
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}`));
      else resolve({ wallMs: wall, cpuMs: cpu });
    });
  });
}

function spawnOnce(argv: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: JOB_PATH, LANG: 'C.UTF-8' } });
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${argv[0]} exited ${code}`))));
  });
}

interface CpuBound {
  /** Wall and CPU of the 1 s loops, medians of 3. */
  cLoop: { wallMs: number; cpuMs: number };
  pyLoop: { wallMs: number; cpuMs: number };
}

interface BareFigures {
  latency: Series;
  throughput: Throughput[];
  cpuBound: CpuBound;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function medianTimed(argv: string[]): Promise<{ wallMs: number; cpuMs: number }> {
  const runs = [await spawnTimed(argv), await spawnTimed(argv), await spawnTimed(argv)];
  return { wallMs: median(runs.map((r) => r.wallMs)), cpuMs: median(runs.map((r) => r.cpuMs)) };
}

async function bare(): Promise<BareFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const hello = join(dir, 'hello.py');
  writeFileSync(hello, HELLO);
  writeFileSync(join(dir, 'loop.c'), C_LOOP);
  writeFileSync(join(dir, 'loop.py'), PY_LOOP);
  await spawnOnce(['gcc', '-O2', '-o', join(dir, 'loop'), join(dir, 'loop.c')]);
  await spawnOnce(['python3', hello]);
  const ms: number[] = [];
  for (let i = 0; i < N; i++) ms.push(await spawnOnce(['python3', hello]));
  const throughput: Throughput[] = [];
  for (const c of CONCURRENCY) throughput.push(await measureThroughput(c, () => inParallel(THROUGHPUT_JOBS, c, () => spawnOnce(['python3', hello]))));
  const cpuBound = { cLoop: await medianTimed([join(dir, 'loop')]), pyLoop: await medianTimed(['python3', join(dir, 'loop.py')]) };
  return { latency: series(ms), throughput, cpuBound };
}

// ---- through a worker ----

async function runJob(redis: Redis, waiter: Redis, stream: string, job: Record<string, unknown>): Promise<{ id: string; ms: number; result: JobResult }> {
  const id = randomUUID();
  const p0 = performance.now();
  await redis.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'python', code: HELLO, ...job }));
  const result = await waitForResult(waiter, id, 300_000);
  const ms = performance.now() - p0;
  if (!result || result.status !== 'accepted') throw new Error(`job ${id} failed: ${JSON.stringify(result)}`);
  return { id, ms, result };
}

/** Where a python job's time went, mean ms per job, from the worker's "job completed" log and the bench. */
interface Phases {
  claimMs: number;
  sandboxMs: number;
  /** The runner's share besides its own phases: its start where not started ahead, job in, result out. */
  runnerMs: number;
  workspaceMs: number;
  compileMs: number;
  runMs: number;
  /** The program's own wall time, measured by the launcher. */
  programMs: number;
  storeMs: number;
  ackMs: number;
  /** What is left: the worker's own bookkeeping, the announcement and the waiter waking. */
  restMs: number;
}

interface LatencySeries {
  latency: Series;
  phases: Phases;
  /** Jobs that found a sandbox ready in the pool (null: the transport does not say). */
  poolHitRate: number | null;
}

async function logged(worker: WorkerHandle, id: string): Promise<Record<string, number | undefined>> {
  const line = await worker.waitForLog((l: LogLine) => l.msg === 'job completed' && l.jobId === id, 10_000, `"job completed" for ${id}`);
  return (line.phases ?? {}) as Record<string, number | undefined>;
}

async function latencySeries(worker: WorkerHandle, redis: Redis, waiter: Redis, stream: string, gapMs: number): Promise<LatencySeries> {
  const ms: number[] = [];
  const all: Phases[] = [];
  const hits: boolean[] = [];
  for (let i = 0; i < N; i++) {
    const job = await runJob(redis, waiter, stream, {});
    ms.push(job.ms);
    const p = await logged(worker, job.id);
    const get = (k: string) => p[k] ?? 0;
    const own = get('workspaceMs') + get('compileMs') + get('runMs');
    const phases = {
      claimMs: get('claimMs'), sandboxMs: get('sandboxMs'), runnerMs: get('runnerMs') - own, workspaceMs: get('workspaceMs'),
      compileMs: get('compileMs'), runMs: get('runMs'), programMs: job.result.wallTimeMs, storeMs: get('storeMs'), ackMs: get('ackMs'),
    };
    all.push({ ...phases, restMs: job.ms - (phases.claimMs + phases.sandboxMs + get('runnerMs') + phases.storeMs + phases.ackMs) });
    if (p.poolHit !== undefined) hits.push(p.poolHit === 1);
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  const mean = Object.fromEntries(Object.keys(all[0]).map((k) => [k, all.reduce((n, x) => n + x[k as keyof Phases], 0) / all.length])) as unknown as Phases;
  return { latency: series(ms), phases: mean, poolHitRate: hits.length ? hits.filter(Boolean).length / hits.length : null };
}

interface ModeFigures {
  mode: string;
  noGap: LatencySeries;
  /** Warm modes: the same series with BENCH_GAP_MS between jobs. */
  gap: LatencySeries | null;
  throughput: Throughput[];
  workerRssMb: { start: number; end: number };
}

function workerFor(mode: string, env: Record<string, string>): WorkerHandle {
  if (process.env.BENCH_WORKER_NODE_OPTIONS) env = { ...env, NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS };
  if (mode === 'queue-only') return startLoggingProcess(['--import', 'tsx', join('scripts', 'queueOnlyWorker.ts')], { LOG_LEVEL: 'info', ...env });
  const [runnerMode, pool] = mode.split('-');
  const runtime: Record<string, string> = process.env.DOCKER_RUNTIME ? { DOCKER_RUNTIME: process.env.DOCKER_RUNTIME } : {};
  return startWorker({ RUNNER_MODE: runnerMode, ...(pool === 'cold' ? { POOL_SIZE: '0' } : {}), LOG_LEVEL: 'info', ...runtime, ...env });
}

async function withWorker<T>(mode: string, redisUrl: string, redis: Redis, concurrency: number, use: (w: WorkerHandle, stream: string, waiter: Redis) => Promise<T>): Promise<T> {
  const stream = `bench-${mode}-${randomUUID()}`;
  // The sidecar mode's runner: a container of its own per run, started before its worker as the platforms start them,
  // with the CPUs bare gets at this concurrency (the machine's at most).
  const sidecar = mode === 'sidecar' ? await startSidecar({ dockerArgs: ['--cpus', String(Math.min(concurrency, cpus().length))] }) : null;
  const worker = workerFor(mode, {
    REDIS_URL: redisUrl, STREAM_KEY: stream, MAX_CONCURRENT_JOBS: String(concurrency), METRICS_PORT: '0',
    ...(sidecar ? { SIDECAR_DIR: sidecar.dir } : {}),
  });
  const waiter = redis.duplicate();
  try {
    await worker.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"');
    // Warm-up: first jobs compile code paths and fill the pool.
    for (let i = 0; i < 3; i++) await runJob(redis, waiter, stream, {});
    return await use(worker, stream, waiter);
  } finally {
    waiter.disconnect();
    await worker.stop();
    await sidecar?.stop();
  }
}

async function throughputRun(redis: Redis, waiter: Redis, stream: string): Promise<number> {
  const t0 = performance.now();
  const ids = Array.from({ length: THROUGHPUT_JOBS }, () => randomUUID());
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'python', code: HELLO }));
  await pipeline.exec();
  for (const id of ids) {
    const r = await waitForResult(waiter, id, 600_000);
    if (r?.status !== 'accepted') throw new Error(`throughput job ${id}: ${JSON.stringify(r)}`);
  }
  return performance.now() - t0;
}

async function measureMode(mode: string, redisUrl: string, redis: Redis): Promise<ModeFigures> {
  const warm = mode.endsWith('-warm');
  const { noGap, gap, workerRssMb } = await withWorker(mode, redisUrl, redis, 2, async (worker, stream, waiter) => {
    const rssStart = processRssMb(worker.proc.pid!);
    const noGap = await latencySeries(worker, redis, waiter, stream, 0);
    progress('latency measured', { mode, gap: false, p50: Math.round(noGap.latency.p50), poolHitRate: noGap.poolHitRate });
    const gap = warm ? await latencySeries(worker, redis, waiter, stream, GAP_MS) : null;
    if (gap) progress('latency measured', { mode, gap: true, p50: Math.round(gap.latency.p50), poolHitRate: gap.poolHitRate });
    return { noGap, gap, workerRssMb: { start: rssStart, end: processRssMb(worker.proc.pid!) } };
  });
  const throughput: Throughput[] = [];
  for (const c of CONCURRENCY) {
    throughput.push(await withWorker(mode, redisUrl, redis, c, (_w, stream, waiter) => measureThroughput(c, () => throughputRun(redis, waiter, stream))));
    progress('throughput measured', { mode, concurrency: c, jobsPerS: Number(throughput.at(-1)!.jobsPerS.toFixed(1)) });
  }
  return { mode, noGap, gap, throughput, workerRssMb };
}

interface CpuBoundFigures {
  mode: string;
  /** End to end, and what the result reports: wall (the launcher's) and timeMs (CPU). */
  cLoop: { wallMs: number; timeMs: number };
  pyLoop: { wallMs: number; timeMs: number };
  /** Latency of a job with 20 cases less one with 1 case, per extra case, less the program's own time. */
  perCaseOverheadMs: number;
}

async function measureCpuBound(runnerMode: string, redisUrl: string, redis: Redis): Promise<CpuBoundFigures> {
  return withWorker(`${runnerMode}-warm`, redisUrl, redis, 1, async (_w, stream, waiter) => {
    const loop = async (job: Record<string, unknown>) => {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push((await runJob(redis, waiter, stream, { ...job, timeLimitMs: 5000 })).result);
      return { wallMs: median(runs.map((r) => r.wallTimeMs)), timeMs: median(runs.map((r) => r.timeMs)) };
    };
    const cLoop = await loop({ language: 'c', code: C_LOOP });
    const pyLoop = await loop({ code: PY_LOOP });
    const cases = (n: number) => ({ testCases: Array.from({ length: n }, () => ({ stdin: '' })) });
    const one: number[] = [];
    const twenty: number[] = [];
    let programPerCase = 0;
    for (let i = 0; i < 5; i++) {
      one.push((await runJob(redis, waiter, stream, cases(1))).ms);
      const many = await runJob(redis, waiter, stream, cases(20));
      twenty.push(many.ms);
      programPerCase = many.result.testCases!.reduce((n, c) => n + c.wallTimeMs, 0) / 20;
    }
    const perCaseOverheadMs = (median(twenty) - median(one)) / 19 - programPerCase;
    progress('cpu-bound measured', { mode: runnerMode, cLoop, pyLoop, perCaseOverheadMs: Number(perCaseOverheadMs.toFixed(2)) });
    return { mode: runnerMode, cLoop, pyLoop, perCaseOverheadMs };
  });
}

// ---- report ----

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const fs = (s: Series) => `${f1(s.p50)} / ${f1(s.p95)} / ${f1(s.p99)} / ${f1(s.max)}`;

function tables(base: BareFigures, modes: ModeFigures[], cpu: CpuBoundFigures[], ceiling: EngineCeiling[]): string {
  const rows = [
    `Latency, python hello world, ${N} jobs per series (ms: p50 / p95 / p99 / max; ratio of p50 and p99 to bare):`,
    '',
    '| series | no gap | ratio p50 | ratio p99 | pool hits | with a gap | ratio p50 | pool hits |',
    '|---|---|---|---|---|---|---|---|',
    `| bare python3 | ${fs(base.latency)} | 1.00 | 1.00 | - | - | - | - |`,
  ];
  const hit = (r: number | null) => (r === null ? '-' : `${Math.round(r * 100)}%`);
  for (const m of modes) {
    const g = m.gap;
    rows.push(`| ${m.mode} | ${fs(m.noGap.latency)} | ${f2(m.noGap.latency.p50 / base.latency.p50)} | ${f2(m.noGap.latency.p99 / base.latency.p99)} | ${hit(m.noGap.poolHitRate)} | ${g ? fs(g.latency) : '-'} | ${g ? f2(g.latency.p50 / base.latency.p50) : '-'} | ${g ? hit(g.poolHitRate) : '-'} |`);
  }
  rows.push('', `Throughput, ${THROUGHPUT_JOBS} jobs (jobs/s, ratio to bare at the same concurrency, busy CPU of the whole machine per job in ms; then CPU per job of the bench's own processes + of the kernel's threads, in ms):`, '');
  rows.push(`| series | ${CONCURRENCY.map((c) => `${c} at a time`).join(' | ')} |`, `|---|${CONCURRENCY.map(() => '---').join('|')}|`);
  const own = (t: Throughput) => `${f1(t.ownCpuMsPerJob)} + ${f1(t.kernelThreadsCpuMsPerJob)} ms`;
  rows.push(`| bare python3 | ${base.throughput.map((t) => `${f1(t.jobsPerS)} (1.00, ${f1(t.machineCpuMsPerJob)} ms); ${own(t)}`).join(' | ')} |`);
  for (const m of modes) {
    rows.push(`| ${m.mode} | ${m.throughput.map((t, i) => `${f1(t.jobsPerS)} (${f2(t.jobsPerS / base.throughput[i].jobsPerS)}, ${f1(t.machineCpuMsPerJob)} ms); ${own(t)}`).join(' | ')} |`);
  }
  if (ceiling.length) {
    rows.push('', `The Docker engine's ceiling for fresh containers: the docker transport's own container spec created, started and removed, ${ceiling[0].containers} at each concurrency (no job inside):`, '');
    rows.push(`| engine | ${ceiling.map((c) => `${c.concurrency} at a time`).join(' | ')} |`, `|---|${ceiling.map(() => '---').join('|')}|`);
    rows.push(`| containers/s (p50 ms each) | ${ceiling.map((c) => `${f1(c.perSecond)} (${f1(c.p50Ms)})`).join(' | ')} |`);
  }
  rows.push('', 'Where the CPU goes in the throughput runs (ms per job: the bench with the bare programs / Redis / the worker / the sandbox supervisor and its sandboxes with their programs / the kernel\'s threads):', '');
  rows.push(`| series | ${CONCURRENCY.map((c) => `${c} at a time`).join(' | ')} |`, `|---|${CONCURRENCY.map(() => '---').join('|')}|`);
  const parts = (t: Throughput) => [...Object.values(t.ownCpuMsPerJobByProcess), t.kernelThreadsCpuMsPerJob].map(f1).join(' / ');
  rows.push(`| bare python3 | ${base.throughput.map(parts).join(' | ')} |`);
  for (const m of modes) rows.push(`| ${m.mode} | ${m.throughput.map(parts).join(' | ')} |`);
  rows.push('', 'Where a job\'s time goes (no-gap series, mean ms per job):', '');
  rows.push('| series | claim | sandbox | runner | workspace | compile | run (program) | store | ack | rest | worker RSS start → end (MB) |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const m of modes) {
    const p = m.noGap.phases;
    rows.push(`| ${m.mode} | ${[p.claimMs, p.sandboxMs, p.runnerMs, p.workspaceMs, p.compileMs].map(f1).join(' | ')} | ${f1(p.runMs)} (${f1(p.programMs)}) | ${[p.storeMs, p.ackMs, p.restMs].map(f1).join(' | ')} | ${f1(m.workerRssMb.start)} → ${f1(m.workerRssMb.end)} |`);
  }
  if (cpu.length) {
    const b = base.cpuBound;
    rows.push('', 'CPU-bound work (medians of 3): the loops spin for 1 s of CPU; wall and timeMs as the result reports them, against bare:', '');
    rows.push('| series | C wall (ratio) | C timeMs vs bare CPU | python wall (ratio) | python timeMs vs bare CPU | per extra test case (ms) |', '|---|---|---|---|---|---|');
    rows.push(`| bare | ${f1(b.cLoop.wallMs)} (1.00) | ${f1(b.cLoop.cpuMs)} | ${f1(b.pyLoop.wallMs)} (1.00) | ${f1(b.pyLoop.cpuMs)} | - |`);
    const pct = (x: number, y: number) => `${x >= y ? '+' : ''}${f1(((x - y) / y) * 100)}%`;
    for (const c of cpu) {
      rows.push(`| ${c.mode} | ${f1(c.cLoop.wallMs)} (${f2(c.cLoop.wallMs / b.cLoop.wallMs)}) | ${c.cLoop.timeMs} (${pct(c.cLoop.timeMs, b.cLoop.cpuMs)}) | ${f1(c.pyLoop.wallMs)} (${f2(c.pyLoop.wallMs / b.pyLoop.wallMs)}) | ${c.pyLoop.timeMs} (${pct(c.pyLoop.timeMs, b.pyLoop.cpuMs)}) | ${f2(c.perCaseOverheadMs)} |`);
    }
  }
  return rows.join('\n');
}

const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), node: process.version };
progress('bare baseline', { n: N, concurrency: CONCURRENCY });
const base = await bare();
const ceiling: EngineCeiling[] = [];
if (MODES.some((m) => m.startsWith('docker'))) {
  for (const c of CONCURRENCY) ceiling.push(await measureEngineCeiling(DOCKER_SOCKET, RUNNER_IMAGE, 40, c));
  progress('engine ceiling measured', { containersPerS: ceiling.map((c) => Number(c.perSecond.toFixed(1))) });
}
const redis = await startRedis();
const modes: ModeFigures[] = [];
const cpu: CpuBoundFigures[] = [];
try {
  for (const mode of MODES) {
    progress('measuring', { mode });
    modes.push(await measureMode(mode, redis.url, redis.client));
  }
  for (const mode of CPU_MODES) cpu.push(await measureCpuBound(mode, redis.url, redis.client));
} finally {
  await redis.stop();
}
process.stdout.write(`${tables(base, modes, cpu, ceiling)}\n\nmachine: ${JSON.stringify(machine)}\n`);
writeFileSync(OUT, `${JSON.stringify({ at: new Date().toISOString(), machine, n: N, throughputJobs: THROUGHPUT_JOBS, gapMs: GAP_MS, bare: base, engineCeiling: ceiling, modes, cpuBound: cpu }, null, 2)}\n`);
progress('written', { file: OUT });
