// What a job leaves behind on a runner sidecar, and what becomes of it (issue 19, findings 5, 7 and 8), through a real
// worker and a real sidecar (the runner image's executor, --serve, as a read-only container with the stacks' settings):
// - cleanup cannot fail on anything a job leaves: trees thousands of levels deep, paths far beyond PATH_MAX, mode-0
//   directories, fifos, links (to the shared directory, the workspace, /, themselves), in /tmp, /dev/shm, /workspace
//   and the shared directory; after each, the job has its verdict, the next job finds nothing of it and the sidecar
//   stays ready; a sidecar restarted on volumes a job dirtied starts, cleans them and serves jobs;
// - a sidecar whose cleanup fails anyway stops reporting ready (its worker sends it nothing), says why, and is ready
//   again once a cleanup succeeds;
// - what a compile step made is locked for the cases (no case writes into it), and a compile step leaving too much
//   is a compile_error;
// - when the worker gives up on a job (its deadline), every process of the job dies, its forked children included,
//   and the next job sees nothing of it;
// - the executor refuses to serve outside a container (it empties /tmp and /dev/shm).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JOB_UID_MIN } from '../../core/protocol/limits.js';
import type { JobResult } from '../../core/protocol/result.js';
import { DIST_DIR } from '../../core/runnerBundle.js';
import { waitForResult } from '../../worker/resultStore.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { dockerAvailable } from '../support/services.js';
import { startSidecar, type RunningSidecar, type SidecarOptions } from '../support/sidecar.js';
import { startWorker, type WorkerHandle } from '../support/workerProcess.js';

const DOCKER = await dockerAvailable();

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Polls `check` until it returns true; fails loudly with `what` (and `context()`) after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number, what: string, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms\n${context()}`);
    await delay(100);
  }
}

interface Served {
  worker: WorkerHandle;
  /** Submits a job and waits for its stored result. */
  run(job: Record<string, unknown>, timeoutMs?: number): Promise<JobResult>;
  stop(): Promise<void>;
}

/**
 * A worker in sidecar mode on a stream of its own. MAX_DELIVERIES=1: a failure of the platform is an internal_error at
 * once, never hidden by a retry that happens to succeed.
 */
async function serve(sidecar: RunningSidecar): Promise<Served> {
  const stream = `jobs-${randomUUID()}`;
  const worker = startWorker({
    REDIS_URL: redis.url, STREAM_KEY: stream, RUNNER_MODE: 'sidecar', SIDECAR_DIR: sidecar.dir,
    MAX_CONCURRENT_JOBS: '1', READ_BLOCK_MS: '200', MAX_DELIVERIES: '1',
  });
  await worker.waitForLog((l) => l.msg === 'worker started', 60_000, '"worker started"');
  return {
    worker,
    async run(job, timeoutMs = 90_000) {
      const id = randomUUID();
      await redis.client.xadd(stream, '*', 'job', JSON.stringify({ id, ...job }));
      const waiter = redis.client.duplicate();
      try {
        const r = await waitForResult(waiter, id, timeoutMs);
        if (!r) throw new Error(`no result for ${id} within ${timeoutMs} ms; sidecar log:\n${sidecar.log()}`);
        return r;
      } finally {
        waiter.disconnect();
      }
    },
    stop: () => worker.stop(),
  };
}

/**
 * The next job's view: every entry of /tmp, /dev/shm and /workspace but its own source, and every process of another
 * job uid it can see. Prints only `probe-done` when there is nothing.
 */
const PROBE = {
  language: 'bash',
  code: [
    'shopt -s dotglob nullglob',
    'me=$(id -u)',
    'for e in /tmp/* /dev/shm/* /workspace/*; do',
    '  case "$e" in',
    '    /workspace/main.sh) ;;',
    '    *) echo "left: $e" ;;',
    '  esac',
    'done',
    'for s in /proc/[0-9]*/status; do',
    '  while read -r key real _; do',
    '    if [ "$key" = Uid: ] && [ "$real" -ge 100000 ] && [ "$real" != "$me" ]; then echo "process of another job uid $real: $s"; fi',
    '  done < "$s" 2>/dev/null',
    'done',
    'echo probe-done',
  ].join('\n'),
};

async function expectCleanNextJob(served: Served): Promise<void> {
  const probe = await served.run(PROBE);
  expect(probe.status, probe.message ?? '').toBe('accepted');
  expect(probe.stdout).toBe('probe-done\n');
}

/** Entries of a directory a job uid owns. */
function jobOwned(dir: string): string[] {
  return readdirSync(dir).filter((name) => lstatSync(join(dir, name)).uid >= JOB_UID_MIN);
}

/** Processes in the sidecar's container that should not be there: any of a job uid, and any zombie. */
const CONTAINER_LEFTOVERS = [
  'for s in /proc/[0-9]*/status; do',
  '  uid=; state=',
  '  while read -r key a _; do',
  '    case "$key" in Uid:) uid=$a ;; State:) state=$a ;; esac',
  '  done < "$s" 2>/dev/null',
  '  [ -n "$uid" ] || continue',
  '  if [ "$uid" -ge 100000 ] || [ "$state" = Z ]; then echo "$s uid=$uid state=$state"; fi',
  'done',
].join('\n');

/** A job that leaves something behind, and what it must print to show it did. */
interface Leftover {
  what: string;
  job: Record<string, unknown>;
  status: JobResult['status'];
  stdout: RegExp;
}

/**
 * C: `levels` directories deep in `top`, each made mode 0 once the tree stands, with a fifo and links (to the shared
 * directory, the workspace, / and itself) every 500 levels; then, with `linger`, a marker at the top and a long sleep.
 */
function cTree(top: string, levels: number, linger = false): string {
  return `
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  if (chdir("${top}")) return 1;
  int n = 0;
  for (; n < ${levels}; n++) {
    if (mkdir("d", 0700) || chdir("d")) return 2;
    if (n % 500 == 0) {
      mkfifo("fifo", 0600);
      symlink("/shared", "to-shared");
      symlink("/workspace", "to-workspace");
      symlink("/", "to-root");
      symlink("loop", "loop");
    }
  }
  for (int i = 0; i < n; i++) {
    if (chdir("..")) return 3;
    chmod("d", 0);
  }
  printf("made %d\\n", n);
  ${linger ? `fflush(stdout);
  fclose(fopen("${top}/tree-made", "w"));
  sleep(60);` : ''}
  return 0;
}
`;
}

/** bash: `levels` directories deep in the current directory, made 1,500 at a time (bash's own cd is quadratic). */
const BASH_TREE = (levels: number) =>
  `chunk=$(printf 'a/%.0s' $(seq 1500))\nfor ((i = 0; i < ${levels / 1500}; i++)); do mkdir -p "$chunk" && cd "$chunk" || exit 2; done\necho made $((i * 1500))\n`;

const LEFTOVERS: Leftover[] = [
  {
    what: 'python: a tree 2,500 levels deep in /tmp (the reproducer)',
    job: { language: 'python', code: "import os\nos.chdir('/tmp')\nfor i in range(2500):\n    os.mkdir('a', 0o777); os.chdir('a')\nprint('made', i + 1)\n" },
    status: 'accepted',
    stdout: /^made 2500\n$/,
  },
  {
    what: 'python: 300 levels of 255-character names in /workspace (a path of 77 KB)',
    job: { language: 'python', code: "import os\nos.chdir('/workspace')\nfor i in range(300):\n    os.mkdir('n' * 255); os.chdir('n' * 255)\nprint('made', i + 1)\n" },
    status: 'accepted',
    stdout: /^made 300\n$/,
  },
  {
    what: 'bash: a tree 3,000 levels deep in /dev/shm',
    job: { language: 'bash', code: `cd /dev/shm || exit 1\n${BASH_TREE(3000)}` },
    status: 'accepted',
    stdout: /^made 3000\n$/,
  },
  {
    what: 'C: 5,000 levels of mode-0 directories in /tmp, with fifos and links to the shared directory, the workspace, / and themselves',
    job: { language: 'c', code: cTree('/tmp', 5000) },
    status: 'accepted',
    stdout: /^made 5000\n$/,
  },
  {
    what: 'python: grows a tree in /workspace until its inodes run out, then overstays its wall limit',
    job: {
      language: 'python',
      timeLimitMs: 1000,
      wallTimeLimitMs: 3000,
      code: "import os, time\nos.chdir('/workspace')\nn = 0\ntry:\n    while True:\n        os.mkdir('g'); os.chdir('g'); n += 1\nexcept OSError as e:\n    print('full at', n, e.errno, flush=True)\ntime.sleep(60)\n",
    },
    status: 'time_limit_exceeded',
    stdout: /^full at \d{4,} 28\n$/,
  },
  {
    what: 'python, two cases: the first leaves deep trees, fifos and links in /tmp, /dev/shm and /workspace; the second must find none',
    job: {
      language: 'python',
      code: [
        'import os, sys',
        "if sys.stdin.read().strip() == '1':",
        "    for top in ('/tmp', '/dev/shm', '/workspace'):",
        '        os.chdir(top)',
        "        os.mkfifo('fifo'); os.symlink('/shared', 'link')",
        '        for i in range(2000):',
        "            os.mkdir('x', 0o777); os.chdir('x')",
        "    print('made')",
        'else:',
        "    seen = os.listdir('/tmp') + os.listdir('/dev/shm') + [n for n in os.listdir('/workspace') if n != 'main.py']",
        "    print('clean' if not seen else seen)",
      ].join('\n'),
      testCases: [{ stdin: '1', expectedOutput: 'made' }, { stdin: '2', expectedOutput: 'clean' }],
    },
    status: 'accepted',
    stdout: /^clean\n$/,
  },
  {
    what: 'bash: a tree 3,000 levels deep and a link to the heartbeat in the shared directory, made world-writable',
    job: { language: 'bash', code: `cd /shared || exit 1\nln -s .sidecar-heartbeat beat\nmkdir t && cd t || exit 3\n${BASH_TREE(3000)}` },
    status: 'accepted',
    stdout: /^made 3000\n$/,
  },
];

/** A compile step that runs the job's own code (Nim's staticExec: a shell command) and leaves what it likes in the workspace. */
function nimCompiling(shell: string, program: string): string {
  return `const made = staticExec(${JSON.stringify(shell)})\n${program}\n`;
}

const LOCK_CASES: Leftover[] = [
  {
    what: 'nim: a world-writable directory the compile step made cannot carry files from one case to the next',
    job: {
      language: 'nim',
      code: nimCompiling('mkdir -m 0777 carry', [
        'import std/[os, strutils]',
        'if stdin.readAll().strip() == "1":',
        '  if not dirExists("/workspace/carry"):',
        '    echo "the compile step made no directory"',
        '  else:',
        '    try:',
        '      writeFile("/workspace/carry/from-case-1", "x")',
        '      echo "written"',
        '    except IOError:',
        '      echo "refused"',
        'else:',
        '  var n = 0',
        '  for _ in walkDir("/workspace/carry"): inc n',
        '  echo n',
      ].join('\n')),
      testCases: [{ stdin: '1', expectedOutput: 'refused' }, { stdin: '2', expectedOutput: '0' }],
    },
    status: 'accepted',
    stdout: /^0\n$/,
  },
  {
    what: 'nim: a compile step that leaves 5,000 files is a compile_error',
    job: { language: 'nim', code: nimCompiling('mkdir many && cd many && seq 5000 | xargs touch', 'echo "ran"') },
    status: 'compile_error',
    stdout: /^$/,
  },
  {
    what: 'nim: a compile step that nests directories 70 levels deep is a compile_error',
    job: { language: 'nim', code: nimCompiling(`mkdir -p ${Array(70).fill('d').join('/')}`, 'echo "ran"') },
    status: 'compile_error',
    stdout: /^$/,
  },
];

describe.skipIf(!DOCKER)('what a job leaves on a sidecar', () => {
  let sidecar: RunningSidecar;
  let served: Served;

  beforeAll(async () => {
    sidecar = await startSidecar();
    // Worse than the sidecar leaves it (1770: the worker's alone): world-writable, so a job can plant things there too.
    chmodSync(sidecar.dir, 0o1777);
    served = await serve(sidecar);
  });
  afterAll(async () => {
    await served?.stop();
    await sidecar?.stop();
  });
  afterEach(() => expectNothingLeft(15_000, 0));

  it.each(LEFTOVERS.map((l) => [l.what, l] as const))('%s: the job has its verdict, the next job finds nothing, the sidecar stays ready', async (_, leftover) => {
    const r = await served.run(leftover.job);
    expect(r.status, `${r.message}\n${r.stderr}`).toBe(leftover.status);
    expect(r.stdout).toMatch(leftover.stdout);
    await expectCleanNextJob(served);
    // Nor in the shared directory (the worker's): what a job uid made there is swept before the next job starts.
    expect(jobOwned(sidecar.dir)).toEqual([]);
    expect(sidecar.heartbeat()?.ready, JSON.stringify(sidecar.heartbeat())).toBe(true);
    expect(sidecar.log()).not.toMatch(/not ready|cannot start/);
  });

  it.each(LOCK_CASES.map((l) => [l.what, l] as const))('%s', async (_, leftover) => {
    const r = await served.run(leftover.job, 120_000);
    expect(r.status, `${r.message}\n${r.compileOutput}`).toBe(leftover.status);
    expect(r.stdout).toMatch(leftover.stdout);
    if (leftover.status === 'compile_error') expect(r.message).toMatch(/the compile step left (more than 4096 files|directories nested deeper than 64)/);
    await expectCleanNextJob(served);
  });
});

describe.skipIf(!DOCKER)('the sidecar container: restarts, failed cleanups, abandoned jobs', () => {
  afterEach(() => expectNothingLeft(15_000, 0));

  /** Starts a job that leaves `leaves` in a volume, kills the sidecar while it runs, and starts another on the same volume. */
  const RESTARTS = [
    {
      mount: '/tmp',
      what: 'a python job left a tree 2,500 levels deep',
      code: "import os, time\nos.chdir('/tmp')\nfor i in range(2500):\n    os.mkdir('a', 0o777); os.chdir('a')\nopen('/tmp/tree-made', 'w').close()\ntime.sleep(60)\n",
      language: 'python',
    },
    {
      mount: '/workspace',
      what: 'a C job left 5,000 levels of mode-0 directories with fifos and links',
      code: cTree('/workspace', 5000, true),
      language: 'c',
    },
  ];

  it.each(RESTARTS.map((r) => [r.mount, r.what, r] as const))('a sidecar restarted on a %s volume where %s starts, cleans it and serves jobs', async (mount, _, restart) => {
    const volume = `hygiene-${randomUUID()}`;
    execFileSync('docker', ['volume', 'create', volume], { stdio: 'ignore' });
    const options: SidecarOptions = { volumes: { [mount]: volume } };
    let first: RunningSidecar | undefined;
    let second: RunningSidecar | undefined;
    let served: Served | undefined;
    try {
      first = await startSidecar(options);
      const dir = first.dir;
      served = await serve(first);
      const dirty = served.run({ language: restart.language, code: restart.code, timeLimitMs: 5000, wallTimeLimitMs: 60_000 });
      await until(() => first!.exec(`test -e ${mount}/tree-made && echo yes || true`).trim() === 'yes', 30_000, 'the job making its tree', () => first!.log());
      // The task is replaced (or the container crashes) mid-job: its volume keeps what the job made.
      await first.kill();
      second = await startSidecar({ ...options, dir });
      expect(second.heartbeat(), second.log()).toMatchObject({ ready: true });
      // The job that was running is lost with its sidecar: the platform's failure, answered after one delivery.
      expect((await dirty).status).toBe('internal_error');
      await expectCleanNextJob(served);
      expect(second.exec(`ls -A ${mount}`)).toBe('');
      expect(second.log()).not.toMatch(/not ready|cannot start/);
    } finally {
      await served?.stop();
      // The second serves the first's directory: the first removes it, last.
      await second?.stop();
      await first?.stop();
      execFileSync('docker', ['volume', 'rm', '-f', volume], { stdio: 'ignore' });
    }
  });

  it('a sidecar whose cleanup fails says why, its worker claims no job meanwhile, and it is ready again once a cleanup succeeds', async () => {
    // A mount point in /tmp: nothing the sidecar can remove (it may not unmount), as anything a cleanup cannot undo.
    const sidecar = await startSidecar({ dockerArgs: ['--tmpfs', '/tmp/pinned:size=1m'] });
    let served: Served | undefined;
    try {
      expect(sidecar.heartbeat(), sidecar.log()).toMatchObject({ ready: false, problem: expect.stringMatching(/cleanup failed: .*\/tmp still holds 1 entries/) });
      expect(sidecar.log()).toMatch(/"level":"error","msg":"sidecar not ready: it takes no job until a cleanup succeeds".*\/tmp still holds 1 entries/);
      served = await serve(sidecar);
      // Its worker claims nothing meanwhile: a job waits in the stream (no delivery is spent on it), then runs.
      const waiting = served.run({ language: 'bash', code: 'echo ran' });
      await served.worker.waitForLog((l) => l.msg === 'cannot take jobs now; claiming none until it can' && /not ready: cleanup failed/.test(String(l.reason)), 20_000, 'the worker holding back');
      expect(sidecar.log()).not.toMatch(/"msg":"job started"/);
      // What kept the cleanup from succeeding is gone: the sidecar's next try succeeds.
      sidecar.unmount('/tmp/pinned');
      await until(() => sidecar.heartbeat()?.ready === true, 20_000, 'the sidecar becoming ready', () => sidecar.log());
      expect(sidecar.log()).toMatch(/"msg":"sidecar ready again: a cleanup succeeded"/);
      expect(await waiting).toMatchObject({ status: 'accepted', stdout: 'ran\n', attempts: 1 });
      await served.worker.waitForLog((l) => l.msg === 'taking jobs again', 5000, 'the worker claiming again');
      await expectCleanNextJob(served);
    } finally {
      await served?.stop();
      await sidecar.stop();
    }
  });

  /**
   * Jobs whose children outlive their main process (no parent-death signal reaches a forked child): in sessions of
   * their own, orphaned, or reaped by the kernel, they read the workspace (the next job's sources would be there) and
   * plant files for the next job, while the job itself waits. Each says so in /tmp/children-started.
   */
  const OVERRUNS = [
    {
      what: 'bash: ten loops in sessions of their own and a double-forked one',
      language: 'bash',
      code: [
        'for i in $(seq 10); do',
        "  setsid bash -c 'while :; do cat /workspace/* > /tmp/stolen-$$ 2>/dev/null; echo x > /workspace/planted-$$ 2>/dev/null; sleep 0.05; done' </dev/null >/dev/null 2>&1 &",
        'done',
        "( bash -c 'while :; do sleep 0.05; done' & ) </dev/null >/dev/null 2>&1",
        'touch /tmp/children-started',
        'sleep 1000',
      ].join('\n'),
    },
    {
      what: 'python: orphaned grandchildren in sessions of their own copying the workspace to /dev/shm',
      language: 'python',
      code: [
        'import os, time',
        'for i in range(5):',
        '    if os.fork() == 0:',
        '        os.setsid()',
        '        if os.fork() == 0:',
        '            while True:',
        '                try:',
        "                    for n in os.listdir('/workspace'):",
        "                        open(f'/dev/shm/copy-{os.getpid()}-{n}', 'wb').write(open(f'/workspace/{n}', 'rb').read())",
        '                except OSError:',
        '                    pass',
        '                time.sleep(0.05)',
        '        os._exit(0)',
        "open('/tmp/children-started', 'w').close()",
        'time.sleep(1000)',
      ].join('\n'),
    },
    {
      what: 'C: twenty children the kernel reaps (SIGCHLD ignored), each in a session of its own, planting files',
      language: 'c',
      code: [
        '#include <signal.h>',
        '#include <stdio.h>',
        '#include <unistd.h>',
        'int main(void) {',
        '  signal(SIGCHLD, SIG_IGN);',
        '  for (int i = 0; i < 20; i++) {',
        '    if (fork() == 0) {',
        '      setsid();',
        '      for (;;) {',
        '        FILE *f = fopen("/workspace/planted-c", "w");',
        '        if (f) fclose(f);',
        '        usleep(50000);',
        '      }',
        '    }',
        '  }',
        '  fclose(fopen("/tmp/children-started", "w"));',
        '  for (;;) pause();',
        '}',
      ].join('\n'),
    },
  ];

  /**
   * Stops the executor's process serving the job (a child of the one serving the directory, pid 1): what a hung
   * sandbox looks like. Its pid.
   */
  const STOP_SANDBOX = [
    'for p in /proc/[0-9]*; do',
    '  read -r _ _ _ ppid _ < $p/stat 2>/dev/null || continue',
    '  [ "$ppid" = 1 ] && [ "$(readlink $p/exe)" = /opt/runner/sandbox-executor ] && kill -STOP ${p#/proc/} && echo ${p#/proc/}',
    'done',
    'true',
  ].join('\n');

  it.each(OVERRUNS.map((o) => [o.what, o] as const))(
    "when the worker's deadline fires, every process of the job dies and the next job sees nothing of it (%s)",
    async (_, overrun) => {
      const sidecar = await startSidecar();
      let served: Served | undefined;
      try {
        served = await serve(sidecar);
        const result = served.run({ language: overrun.language, code: overrun.code, timeLimitMs: 1000, wallTimeLimitMs: 3000, compileTimeLimitMs: 5000 });
        await until(() => sidecar.exec('test -e /tmp/children-started && echo yes || true').trim() === 'yes', 30_000, 'the job starting its children', () => sidecar.log());
        // The sandbox stalls, so its own wall limit never fires and only the worker's deadline is left (it hangs up;
        // the sidecar then kills the sandbox and every process of a job uid), while the children keep running.
        expect(sidecar.exec(STOP_SANDBOX).trim(), 'the sandbox was found and stopped').toMatch(/^\d+$/);
        const r = await result;
        expect(r.status).toBe('internal_error');
        expect(r.message).toMatch(/no result within/);
        // Not one process of a job uid in the container, nor a zombie nobody reaps.
        expect(sidecar.exec(CONTAINER_LEFTOVERS)).toBe('');
        await expectCleanNextJob(served);
        expect(sidecar.exec(CONTAINER_LEFTOVERS)).toBe('');
        expect(sidecar.heartbeat()).toMatchObject({ ready: true });
      } finally {
        await served?.stop();
        await sidecar.stop();
      }
    },
  );
});

describe('the executor outside a container', () => {
  it.each([
    ['--serve', '/mnt/shared'],
    ['--batch', '/mnt/request'],
  ])('refuses %s, says why and exits, before it touches /tmp, /dev/shm, the workspace or the ptys', (mode, arg) => {
    // In a mount namespace of its own with fresh /tmp, /dev/shm and /dev/pts, and a stand-in over /dev/ptmx: were the
    // refusal to fail, what the executor empties or closes (it chmods the ptmx nodes to 0) would be these, never the host's.
    const script = [
      'set -e',
      'mount --make-rprivate /',
      // The executor first, where the fresh /tmp cannot hide it (a checkout may live under /tmp).
      'mount -t tmpfs none /mnt && mkdir /mnt/dist /mnt/shared && mount --bind "$DIST" /mnt/dist',
      'mount -t tmpfs none /tmp && mount -t tmpfs none /dev/shm && mount -t tmpfs none /dev/pts',
      'touch /mnt/ptmx && chmod 666 /mnt/ptmx && mount --bind /mnt/ptmx /dev/ptmx',
      'echo kept > /tmp/sentinel && echo kept > /dev/shm/sentinel && chmod 755 /mnt/shared && printf "\\0\\0\\0\\0" > /mnt/request',
      'set +e',
      `/mnt/dist/sandbox-executor ${mode} ${arg} > /tmp/out 2> /tmp/err`,
      'echo "exit=$?"',
      'cat /tmp/out; echo "--- stderr"; cat /tmp/err; echo "--- left"; ls -A /tmp /dev/shm /mnt/shared; stat -c %a /mnt/shared /mnt/ptmx',
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', 'sh', '-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, DIST: DIST_DIR } });
    expect(r.status, r.stderr).toBe(0);
    const [head, rest] = r.stdout.split('--- stderr\n');
    const [stderr, left] = rest.split('--- left\n');
    expect(head.trim()).toBe(mode === '--serve' ? 'exit=1' : 'exit=125');
    expect(stderr).toMatch(/runs only in a container with a read-only root filesystem/);
    // Nothing emptied, the shared directory's mode and the ptmx stand-in's untouched, no socket or heartbeat made.
    expect(left).toBe('/dev/shm:\nsentinel\n\n/mnt/shared:\n\n/tmp:\nerr\nout\nsentinel\n755\n666\n');
  });
});
