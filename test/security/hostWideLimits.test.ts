// Issue 10, findings 3 and 6, through a real worker (process and docker transports): no job holds a kernel
// resource with a host-wide limit (AIO contexts, ptys), and each test case starts with a fresh /tmp and the
// workspace as the compile step left it. While an attack runs, the host's counters stay at their baseline
// and a trivial job submitted meanwhile gets its result.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../core/protocol/result.js';
import { workerStarted, type TestQueue } from '../support/jobQueue.js';
import { queueSuite } from '../support/queueSuite.js';
import { dockerAvailable } from '../support/services.js';
import type { WorkerHandle } from '../support/workerProcess.js';
import type { JobSpec } from './attacks.js';
import {
  aioCalls, aioInUse, ENOENT, ENOSYS, EPERM, errnosIn, hugePagesAndFanotify, ioSetupLoop, leavesFilesForNextCase, ptmxFromSixteen, ptyOtherWays, ptysInUse,
  scratchSeen,
} from './kernelPools.js';

const MODES = ['process', ...((await dockerAvailable()) ? ['docker'] : [])];
const suite = queueSuite();

/** A host program that needs one AIO context: what the issue saw fail while a job held them all. */
let hostAioProbe: string;
const probeDir = mkdtempSync(join(tmpdir(), 'aio-probe-'));
beforeAll(() => {
  hostAioProbe = join(probeDir, 'aio-probe');
  writeFileSync(`${hostAioProbe}.c`, [
    '#include <linux/aio_abi.h>', '#include <stdio.h>', '#include <sys/syscall.h>', '#include <unistd.h>',
    'int main(void) { aio_context_t c = 0; if (syscall(SYS_io_setup, 1, &c) != 0) { perror("io_setup"); return 1; } syscall(SYS_io_destroy, c); return 0; }',
  ].join('\n'));
  execFileSync('gcc', ['-o', hostAioProbe, `${hostAioProbe}.c`]);
});
afterAll(() => rmSync(probeDir, { recursive: true, force: true }));

interface Watched {
  result: JobResult;
  /** The largest value of each host counter seen while the attack ran. */
  peak: { aio: number; ptys: number };
  /** Whether a host process could get an AIO context at every sample. */
  hostAioWorked: boolean;
  /** The trivial job submitted once the attack was running. */
  bystander: JobResult;
  /** Milliseconds from submitting to the result: a trivial job before the attack, and the bystander. */
  latencyMs: { usual: number; bystander: number };
}

/** A trivial job's result and how long it took from submission. */
async function timedTrivialJob(queue: TestQueue, label: string): Promise<{ result: JobResult; ms: number }> {
  const started = Date.now();
  const result = await queue.result(await queue.submit({ code: `print("${label}")` }));
  return { result, ms: Date.now() - started };
}

/**
 * Submits `attack`, and once the worker runs it, a trivial job; samples the host's AIO and pty counters (and a
 * host process's io_setup) until the attack's result is in.
 */
async function watchAttack(queue: TestQueue, worker: WorkerHandle, attack: JobSpec): Promise<Watched> {
  const usual = await timedTrivialJob(queue, 'usual');
  const id = await queue.submit(attack);
  await worker.waitForLog((l) => l.msg === 'job started' && l.jobId === id, 30_000, 'the attack starting');
  const bystander = timedTrivialJob(queue, 'bystander');
  const peak = { aio: aioInUse(), ptys: ptysInUse() };
  let hostAioWorked = true;
  let done = false;
  const result = queue.result(id).finally(() => (done = true));
  while (!done) {
    peak.aio = Math.max(peak.aio, aioInUse());
    peak.ptys = Math.max(peak.ptys, ptysInUse());
    try {
      execFileSync(hostAioProbe, { stdio: 'pipe' });
    } catch {
      hostAioWorked = false;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const { result: bystanderResult, ms } = await bystander;
  return { result: await result, peak, hostAioWorked, bystander: bystanderResult, latencyMs: { usual: usual.ms, bystander: ms } };
}

describe.each(MODES)('host-wide kernel limits (%s transport)', (mode) => {
  let baseline: { aio: number; ptys: number };
  const startWorker = async (queue: TestQueue) => {
    const w = queue.startWorker(mode, { WORKER_NAME: 'host-limits' });
    await workerStarted(w);
    return w;
  };
  beforeAll(() => {
    baseline = { aio: aioInUse(), ptys: ptysInUse() };
    console.log(`host baseline (${mode}): fs.aio-nr ${baseline.aio}, kernel.pty.nr ${baseline.ptys}`);
  });

  it('io_setup(4096) in a loop gets no AIO context (ENOSYS); aio-nr stays at its baseline and the host can still use AIO', async () => {
    const queue = suite.newQueue();
    const w = await startWorker(queue);
    const seen = await watchAttack(queue, w, ioSetupLoop());
    expect(seen.result).toMatchObject({ status: 'accepted', stdout: `contexts=0 errno=${ENOSYS}\n` });
    expect(seen.peak.aio).toBe(baseline.aio);
    expect(seen.hostAioWorked).toBe(true);
    expect(seen.bystander).toMatchObject({ status: 'accepted', stdout: 'bystander\n' });
    expect(seen.latencyMs.bystander).toBeLessThanOrEqual(seen.latencyMs.usual + 2000);
    expect(w.proc.exitCode).toBeNull();
  });

  it('every other AIO call answers ENOSYS, io_uring EPERM', async () => {
    const queue = suite.newQueue();
    await startWorker(queue);
    const r = await queue.result(await queue.submit(aioCalls()));
    expect(r.status).toBe('accepted');
    expect(errnosIn(r.stdout)).toEqual({ io_submit: ENOSYS, io_getevents: ENOSYS, io_pgetevents: ENOSYS, io_cancel: ENOSYS, io_destroy: ENOSYS, io_uring_setup: EPERM });
    expect(aioInUse()).toBe(baseline.aio);
  });

  it('huge pages (the host pool) and fanotify are refused; ordinary mappings and memfds still work', async () => {
    const queue = suite.newQueue();
    await startWorker(queue);
    const r = await queue.result(await queue.submit(hugePagesAndFanotify()));
    expect(r.status).toBe('accepted');
    expect(errnosIn(r.stdout)).toEqual({ mmap_hugetlb: EPERM, memfd_hugetlb: EPERM, fanotify_init: EPERM, mmap: 0, memfd: 0 });
  });

  it('16 processes opening /dev/ptmx get no pty; pty/nr stays at its baseline', async () => {
    const queue = suite.newQueue();
    const w = await startWorker(queue);
    const seen = await watchAttack(queue, w, ptmxFromSixteen());
    expect(seen.result).toMatchObject({ status: 'accepted', stdout: `opened=0 errnos=[${ENOENT}]\n` });
    expect(seen.peak.ptys).toBe(baseline.ptys);
    expect(seen.bystander).toMatchObject({ status: 'accepted', stdout: 'bystander\n' });
    expect(seen.latencyMs.bystander).toBeLessThanOrEqual(seen.latencyMs.usual + 2000);
    expect(w.proc.exitCode).toBeNull();
  });

  it('posix_openpt, openpty and /dev/pts/ptmx get no pty either', async () => {
    const queue = suite.newQueue();
    await startWorker(queue);
    const r = await queue.result(await queue.submit(ptyOtherWays()));
    expect(r.status).toBe('accepted');
    const errnos = errnosIn(r.stdout);
    expect(errnos).toEqual({ posix_openpt: ENOENT, openpty: ENOENT, pts_ptmx: ENOENT });
    expect(ptysInUse()).toBe(baseline.ptys);
  });
});

describe.each(MODES)('a fresh /tmp for every test case (%s transport)', (mode) => {
  /**
   * What every case must find: an empty /tmp (where the Node runner judges, inside containers: only its own
   * private directory), the workspace only the program.
   */
  const expectFresh = (seen: ReturnType<typeof scratchSeen>, program: string[]) => {
    expect(seen.tmp.filter((name) => !/^runner-/.test(name))).toEqual([]);
    expect(seen.tmp.length).toBeLessThanOrEqual(1);
    expect(seen.ws).toEqual(program);
  };

  it('a case writes /tmp/x; the next case lists /tmp and finds it empty', async () => {
    const queue = suite.newQueue();
    const w = queue.startWorker(mode);
    await workerStarted(w);
    const id = await queue.submit({
      code: 'import os, sys\nif sys.stdin.read() == "write":\n    open("/tmp/x", "w").write("x")\nprint(sorted(f for f in os.listdir("/tmp") if not f.startswith("runner-")))',
      testCases: [{ stdin: 'write', expectedOutput: "['x']\n" }, { stdin: 'list', expectedOutput: '[]\n' }],
    });
    const r = await queue.result(id);
    expect(r.testCases?.map((c) => [c.status, c.stdout])).toEqual([['accepted', "['x']\n"], ['accepted', '[]\n']]);
    expect(r.status).toBe('accepted');
  });

  it('files, locked directories, fifos and links an earlier case left in /tmp and the workspace are gone, and nothing they point at', async () => {
    const queue = suite.newQueue();
    const w = queue.startWorker(mode);
    await workerStarted(w);
    const cases = [{ stdin: 'plant' }, { stdin: 'look' }, { stdin: 'plant' }, { stdin: 'look' }];
    const r = await queue.result(await queue.submit(leavesFilesForNextCase(cases)));
    expect(r.testCases).toHaveLength(4);
    r.testCases!.forEach((c, i) => {
      expect(c.status, c.stderr).toBe('accepted');
      const seen = scratchSeen(c.stdout);
      // The runner's own directory (each case's stdin) and the program survived every link aimed at them.
      expect(seen.stdin).toBe(cases[i].stdin);
      expectFresh(seen, ['main.py']);
      if (cases[i].stdin === 'plant') expect(c.stdout).toMatch(/planted/);
    });
  });

  it('a compiled program keeps what the compiler made; what a case adds to the workspace is gone for the next', async () => {
    const queue = suite.newQueue();
    const w = queue.startWorker(mode);
    await workerStarted(w);
    const code = [
      '#include <dirent.h>', '#include <stdio.h>', '#include <string.h>', '#include <sys/stat.h>', '#include <unistd.h>',
      'static int shown(const struct dirent *e) { return e->d_name[0] != \'.\' && strncmp(e->d_name, "runner-", 7); }',
      'static void list(const char *dir) { struct dirent **e; int n = scandir(dir, &e, shown, alphasort); printf("%s:", dir);',
      '  for (int i = 0; i < n; i++) printf(" %s", e[i]->d_name); printf("\\n"); }',
      'int main(void) { char in[16] = {0}; fgets(in, sizeof in, stdin); list("/tmp"); list(".");',
      '  if (!strcmp(in, "plant")) { fclose(fopen("/tmp/t", "w")); fclose(fopen("made.txt", "w")); mkdir("d", 0); symlink("main", "main-link"); }',
      '  return 0; }',
    ].join('\n');
    const r = await queue.result(await queue.submit({ language: 'c', code, testCases: [{ stdin: 'plant' }, { stdin: 'look' }] }));
    expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'accepted']);
    for (const c of r.testCases!) expect(c.stdout).toBe('/tmp:\n.: main main.c\n');
  });
});
