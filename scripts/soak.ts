// `npm run soak`: many trivial jobs through two `code-exec worker` processes on a redis-server of its own, to
// show that none is lost or run twice over a long run and that the workers' memory stays flat. Prints progress
// as JSON lines (done, jobs/s, each worker's RSS), then a summary table; exits 1 if a job was lost or duplicated.
// Not part of `npm test`.
//
//   SOAK_JOBS (default 10000)   trivial python jobs (print(n)), submitted in batches as the queue drains
//   SOAK_MODE (default process) RUNNER_MODE of both workers (docker uses RUNNER_IMAGE, default code-runner:latest)
//   SOAK_STALL_MS (default 120000) give up waiting when no job has completed for this long
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { resultEventsKey, resultKey } from '../core/keys.js';
import { sandboxCgroups, sandboxMounts, sandboxProcesses, ourContainers } from '../test/support/leftovers.js';
import { startRedis } from '../test/support/redisServer.js';
import { startWorker, type LogLine, type WorkerHandle } from '../test/support/workerProcess.js';

const JOBS = Number(process.env.SOAK_JOBS ?? 10_000);
const MODE = process.env.SOAK_MODE ?? 'process';
const STALL_MS = Number(process.env.SOAK_STALL_MS ?? 120_000);
const WORKERS = 2;
const BATCH = 250;
/** Jobs submitted and not yet done, at most: a queue that drains rather than a stream of 10,000 at once. */
const MAX_OUTSTANDING = 1000;
const PROGRESS_EVERY = Math.min(500, Math.max(50, Math.round(JOBS / 10)));
const STREAM = 'code-execution-jobs';

if (!Number.isInteger(JOBS) || JOBS < 1) throw new Error(`SOAK_JOBS must be a whole number ≥ 1, got ${process.env.SOAK_JOBS}`);

interface Sample {
  done: number;
  elapsedS: number;
  rssMb: number[];
}

function out(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Resident memory of a process in MiB, from /proc/<pid>/status (VmRSS); NaN once it is gone. */
function rssMb(pid: number | undefined): number {
  try {
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const redis = await startRedis();
  const workers: WorkerHandle[] = [];
  try {
    for (let i = 0; i < WORKERS; i++) {
      workers.push(startWorker({
        REDIS_URL: redis.url, STREAM_KEY: STREAM, RUNNER_MODE: MODE, MAX_CONCURRENT_JOBS: '2', WORKER_NAME: `soak-${i + 1}`,
        METRICS_PORT: '0', LOG_LEVEL: 'info', ...(process.env.RUNNER_IMAGE ? { RUNNER_IMAGE: process.env.RUNNER_IMAGE } : {}),
      }));
    }
    await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"')));
    const rss = () => workers.map((w) => rssMb(w.proc.pid));
    const samples: Sample[] = [{ done: 0, elapsedS: 0, rssMb: rss() }];
    out({ msg: 'soak started', jobs: JOBS, mode: MODE, workers: WORKERS, maxConcurrentJobs: 2, rssMb: samples[0].rssMb });

    // Done = a stored result, as its worker logged it ('job completed' with stored: true).
    const done = new Set<string>();
    const completedLines = (w: WorkerHandle) => w.logs.filter((l): l is LogLine & { jobId: string } => l.msg === 'job completed' && typeof l.jobId === 'string');
    const seen = workers.map(() => 0);
    const collect = () => {
      workers.forEach((w, i) => {
        for (; seen[i] < w.logs.length; seen[i]++) {
          const l = w.logs[seen[i]];
          if (l.msg === 'job completed' && l.stored === true) done.add(l.jobId as string);
        }
      });
    };

    const ids = Array.from({ length: JOBS }, () => randomUUID());
    const t0 = Date.now();
    let submitted = 0;
    let lastProgress = { done: 0, at: t0 };
    let lastChange = { done: 0, at: t0 };
    while (done.size < JOBS) {
      collect();
      if (submitted < JOBS && submitted - done.size < MAX_OUTSTANDING) {
        const batch = ids.slice(submitted, submitted + BATCH);
        const pipeline = redis.client.pipeline();
        batch.forEach((id, k) => pipeline.xadd(STREAM, '*', 'job', JSON.stringify({ id, language: 'python', code: `print(${submitted + k})` })));
        await pipeline.exec();
        submitted += batch.length;
      }
      const now = Date.now();
      if (done.size !== lastChange.done) lastChange = { done: done.size, at: now };
      else if (now - lastChange.at > STALL_MS) {
        out({ msg: 'soak stalled', done: done.size, submitted, stalledForMs: now - lastChange.at });
        break;
      }
      if (done.size - lastProgress.done >= PROGRESS_EVERY || (done.size === JOBS && lastProgress.done !== JOBS)) {
        const elapsedS = (now - t0) / 1000;
        const sample = { done: done.size, elapsedS, rssMb: rss() };
        samples.push(sample);
        out({
          msg: 'soak progress', done: done.size, of: JOBS, elapsedS: Math.round(elapsedS),
          jobsPerS: Math.round((done.size / elapsedS) * 10) / 10,
          recentJobsPerS: Math.round(((done.size - lastProgress.done) / ((now - lastProgress.at) / 1000)) * 10) / 10,
          rssMb: Object.fromEntries(workers.map((w, i) => [`soak-${i + 1}`, sample.rssMb[i]])),
        });
        lastProgress = { done: done.size, at: now };
      }
      await sleep(done.size < JOBS ? 100 : 0);
    }
    const elapsedS = (Date.now() - t0) / 1000;
    // Lines logged just before the last result may still be in the pipe.
    await sleep(1000);
    collect();

    // Lost: no stored result in Redis. Duplicated: announced more than once, or completed (run to the end) by
    // more than one run across both workers' logs.
    const [results, announcements] = [new Map<string, string>(), new Map<string, number>()];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const values = await redis.client.mget(...chunk.map(resultKey));
      chunk.forEach((id, k) => values[k] !== null && results.set(id, (JSON.parse(values[k]!) as { status: string }).status));
      const p = redis.client.pipeline();
      chunk.forEach((id) => p.xlen(resultEventsKey(id)));
      (await p.exec())!.forEach(([, n], k) => announcements.set(chunk[k], Number(n)));
    }
    const runs = new Map<string, number>();
    for (const w of workers) for (const l of completedLines(w)) runs.set(l.jobId, (runs.get(l.jobId) ?? 0) + 1);
    const lost = ids.filter((id) => !results.has(id));
    const announcedTwice = ids.filter((id) => (announcements.get(id) ?? 0) > 1);
    const ranTwice = ids.filter((id) => (runs.get(id) ?? 0) > 1);
    const duplicated = new Set([...announcedTwice, ...ranTwice]);
    const statuses: Record<string, number> = {};
    for (const s of results.values()) statuses[s] = (statuses[s] ?? 0) + 1;
    const perWorker = Object.fromEntries(workers.map((w, i) => [`soak-${i + 1}`, completedLines(w).filter((l) => l.stored === true).length]));
    const [pending] = (await redis.client.xpending(STREAM, 'execution-workers')) as [number];

    await Promise.all(workers.map((w) => w.stop()));
    const leftovers = [...(await ourContainers()), ...sandboxProcesses(), ...sandboxCgroups(), ...sandboxMounts()].length;

    const at = (q: number) => samples.find((s) => s.done >= q * JOBS) ?? samples[samples.length - 1];
    const quartiles = [0, 0.25, 0.5, 0.75, 1].map((q) => ({ q, sample: at(q) }));
    const summary = {
      msg: 'soak summary', mode: MODE, jobs: JOBS, lost: lost.length, duplicated: duplicated.size,
      announcedTwice: announcedTwice.length, ranTwice: ranTwice.length, statuses, perWorker, pending: Number(pending),
      elapsedS: Math.round(elapsedS * 10) / 10, jobsPerS: Math.round((results.size / elapsedS) * 10) / 10, leftovers,
      rssMb: Object.fromEntries(workers.map((w, i) => {
        const values = quartiles.map(({ sample }) => sample.rssMb[i]);
        const finite = values.filter(Number.isFinite);
        return [`soak-${i + 1}`, { at: Object.fromEntries(quartiles.map(({ q }, k) => [`${q * 100}%`, values[k]])), maxOverMin: Math.round((Math.max(...finite) / Math.min(...finite)) * 100) / 100 }];
      })),
      lostIds: lost.slice(0, 20),
      duplicatedIds: [...duplicated].slice(0, 20),
    };
    out(summary);

    const rows: [string, string][] = [
      ['mode', `${MODE}, ${WORKERS} workers x MAX_CONCURRENT_JOBS=2`],
      ['jobs', String(JOBS)],
      ['lost', String(lost.length)],
      ['duplicated', `${duplicated.size} (announced twice ${announcedTwice.length}, run twice ${ranTwice.length})`],
      ['statuses', Object.entries(statuses).map(([s, n]) => `${s} ${n}`).join(', ')],
      ['per worker', Object.entries(perWorker).map(([w, n]) => `${w} ${n}`).join(', ')],
      ['pending at end', String(pending)],
      ['elapsed', `${summary.elapsedS} s`],
      ['jobs/s', String(summary.jobsPerS)],
      ['sandboxes left', String(leftovers)],
      ...workers.map((_, i): [string, string] => {
        const r = summary.rssMb[`soak-${i + 1}`];
        return [`RSS soak-${i + 1} (MiB)`, `${Object.entries(r.at).map(([q, v]) => `${q}: ${v}`).join('  ')}  max/min ${r.maxOverMin}`];
      }),
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write(`\n${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`);
    return lost.length || duplicated.size ? 1 : 0;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await redis.stop();
  }
}

process.exitCode = await main();
