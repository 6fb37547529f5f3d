// The hostile programs of the security battery, as data: what each one tries, the verdict it must get, and
// what it must not achieve. battery.test.ts runs every attack through every transport and, after each,
// checks the host (sentinel files, Redis, loopback canaries, processes, containers: see hostWatch.ts).
//
// Every target is on this machine: loopback addresses, abstract unix sockets, local paths.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import { WORKSPACE_SIZE_MB } from '../../core/protocol/limits.js';
import type { RunOutcome, Status } from '../../core/protocol/result.js';
import type { RunnerTransport } from '../../worker/transports/transport.js';
import { loadConfig } from '../../worker/config.js';
import { waitForResult } from '../../worker/resultStore.js';
import { StreamWorker } from '../../worker/streamConsumer.js';
import { recordingLogger } from '../support/recordingLogger.js';
import { AttackFailed, checked, lines, secret, short, single, split, type Attack, type AttackContext, type JobSpec, type Observed } from './attackKit.js';
import { blame, caseIsolation, sockets } from './caseIsolation.js';
import { MARKER } from './hostWatch.js';
import {
  aioCalls, aioInUse, EACCES, ENOENT, ENOSYS, EPERM, errnosIn, ioSetupLoop, leavesFilesForNextCase, ptmxFromSixteen, ptyOtherWays, ptysInUse,
  scratchSeen,
} from './kernelPools.js';

export { AttackFailed, type AttackContext, type JobSpec };

/** An attempt to forge a verdict: whatever else is checked, it never comes out `accepted`. */
function forgery(name: string, job: (ctx: AttackContext) => JobSpec, check: (r: RunOutcome) => void): Attack {
  return single(name, job, (r) => {
    expect(r.status).not.toBe('accepted' satisfies Status);
    check(r);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Kernel resources with one host-wide limit (issue 10): none may be held by a job
// ---------------------------------------------------------------------------------------------------------------

/** Runs `job` while sampling the host's AIO and pty counters; returns the outcome and the peaks seen. */
async function runWatchingCounters(ctx: AttackContext, job: JobSpec): Promise<{ r: RunOutcome; aio: number; ptys: number }> {
  let done = false;
  const running = ctx.run(job).finally(() => (done = true));
  let aio = aioInUse();
  let ptys = ptysInUse();
  while (!done) {
    aio = Math.max(aio, aioInUse());
    ptys = Math.max(ptys, ptysInUse());
    await new Promise((r) => setTimeout(r, 20));
  }
  return { r: await running, aio, ptys };
}

const hostWide: Attack[] = [
  {
    name: 'kernel AIO contexts (io_setup(4096) in a loop, every other AIO call)',
    async run(ctx) {
      const baseline = aioInUse();
      const { r: loop, aio } = await runWatchingCounters(ctx, ioSetupLoop());
      const calls = await ctx.run(aioCalls());
      const verdict = `${short(loop.status)}, ${short(calls.status)}: ENOSYS`;
      checked(verdict, [loop, calls], () => {
        expect(loop).toMatchObject({ status: 'accepted', stdout: `contexts=0 errno=${ENOSYS}\n` });
        expect(aio, 'fs.aio-nr while the job ran').toBe(baseline);
        expect(calls.status).toBe('accepted');
        expect(errnosIn(calls.stdout)).toEqual({ io_submit: ENOSYS, io_getevents: ENOSYS, io_pgetevents: ENOSYS, io_cancel: ENOSYS, io_destroy: ENOSYS, io_uring_setup: EPERM });
      });
      return { outcomes: [loop, calls], verdict };
    },
  },

  {
    name: 'ptys (/dev/ptmx from 16 processes, posix_openpt, openpty, /dev/pts/ptmx)',
    async run(ctx) {
      const baseline = ptysInUse();
      const { r: sixteen, ptys } = await runWatchingCounters(ctx, ptmxFromSixteen());
      const others = await ctx.run(ptyOtherWays());
      const verdict = `${short(sixteen.status)}, ${short(others.status)}: no pty`;
      checked(verdict, [sixteen, others], () => {
        // No pty device at all (process, docker), or the container's devpts closed to job uids (sidecar container).
        expect(sixteen).toMatchObject({ status: 'accepted', stdout: expect.stringMatching(new RegExp(`^opened=0 errnos=\\[(${ENOENT}|${EACCES})\\]\n$`)) });
        expect(ptys, 'kernel.pty.nr while the job ran').toBe(baseline);
        expect(others.status).toBe('accepted');
        const errnos = errnosIn(others.stdout);
        expect(Object.keys(errnos).sort()).toEqual(['openpty', 'posix_openpt', 'pts_ptmx']);
        for (const e of Object.values(errnos)) expect([ENOENT, EACCES]).toContain(e);
      });
      return { outcomes: [sixteen, others], verdict };
    },
  },

  {
    name: 'files an earlier test case left in /tmp and the workspace',
    async run(ctx) {
      const cases = [{ stdin: 'plant' }, { stdin: 'look' }, { stdin: 'plant' }, { stdin: 'look' }];
      const r = await ctx.run(leavesFilesForNextCase(cases));
      const verdict = `${short(r.status)}: each case fresh`;
      checked(verdict, [r], () => {
        expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
        r.testCases!.forEach((c, i) => {
          const seen = scratchSeen(c.stdout);
          expect(seen.stdin).toBe(cases[i].stdin);
          // Empty, or (the Node runner in containers) only the runner's own private directory.
          expect(seen.tmp.filter((name) => !/^runner-/.test(name))).toEqual([]);
          expect(seen.tmp.length).toBeLessThanOrEqual(1);
          expect(seen.ws).toEqual(['main.py']);
        });
      });
      return { outcomes: [r], verdict };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Resource exhaustion
// ---------------------------------------------------------------------------------------------------------------

const resources: Attack[] = [
  single('fork bomb (bash)',
    () => ({ language: 'bash', code: 'bomb() { bomb | bomb & }; bomb; sleep 1; echo survived', maxProcesses: 16, timeLimitMs: 2000 }),
    (r) => expect(['accepted', 'runtime_error', 'time_limit_exceeded']).toContain(r.status)),

  single('fork bomb (C, forking forever)',
    () => ({ language: 'c', code: '#include <unistd.h>\nint main(void) { for (;;) fork(); }', maxProcesses: 16, timeLimitMs: 1000, wallTimeLimitMs: 2000 }),
    (r) => {
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.wallTimeMs).toBeLessThanOrEqual(3000);
    }),

  single('thread bomb',
    () => ({
      language: 'c', maxProcesses: 16,
      code: lines(
        '#include <pthread.h>', '#include <stdio.h>', '#include <unistd.h>',
        'static void *idle(void *arg) { (void)arg; for (;;) pause(); return NULL; }',
        'int main(void) {',
        '  pthread_attr_t attr; pthread_attr_init(&attr); pthread_attr_setstacksize(&attr, 1 << 16);',
        '  int n = 0; pthread_t t;',
        '  while (n < 100000 && pthread_create(&t, &attr, idle, NULL) == 0) n++;',
        '  printf("%d\\n", n); fflush(stdout); _exit(0);',
        '}'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      // Threads are tasks: the main thread and its threads together stay within maxProcesses.
      expect(Number(r.stdout)).toBeGreaterThan(0);
      expect(Number(r.stdout)).toBeLessThan(16);
    }),

  single('memory bomb',
    () => ({ language: 'c', memoryLimitMb: 64, code: '#include <stdlib.h>\n#include <string.h>\nint main(void) { for (;;) { char *p = malloc(1 << 20); if (!p) return 1; memset(p, 1, 1 << 20); } }' }),
    (r) => expect(r.status).toBe('memory_limit_exceeded')),

  single('memory spread over two processes',
    () => ({ language: 'python', memoryLimitMb: 256, timeLimitMs: 5000, code: 'import os, time\npid = os.fork()\nx = b"x" * (150 << 20)\ntime.sleep(0.5)\nif pid: os.wait()' }),
    (r) => {
      expect(r.status).toBe('memory_limit_exceeded');
      expect(r.memoryKb).toBeGreaterThan(256 * 1024);
    }),

  single('memory kept in tmpfs files',
    () => ({ language: 'bash', memoryLimitMb: 64, code: 'for i in 1 2; do head -c 25M /dev/zero > /tmp/a$i; head -c 25M /dev/zero > /workspace/b$i; done; sleep 0.3; echo done' }),
    (r) => {
      expect(r.status).toBe('memory_limit_exceeded');
      expect(r.memoryKb).toBeGreaterThanOrEqual(100 * 1024);
    }),

  single('memory held in socket buffers',
    () => ({
      language: 'python', memoryLimitMb: 64, timeLimitMs: 5000,
      code: 'import socket, time\npairs, stored, chunk = [], 0, b"x" * 65536\nwhile stored < 150 << 20 and len(pairs) < 300:\n    a, b = socket.socketpair()\n    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)\n    a.setblocking(False)\n    try:\n        while stored < 150 << 20:\n            stored += a.send(chunk)\n    except BlockingIOError:\n        pass\n    pairs.append((a, b))\ntime.sleep(0.3)\nprint(stored >> 20)',
    }),
    (r) => expect(r.status).toBe('memory_limit_exceeded')),

  single('CPU hidden in children the kernel reaps',
    () => ({
      language: 'c', timeLimitMs: 1000, wallTimeLimitMs: 10_000,
      code: '#include <signal.h>\n#include <time.h>\n#include <unistd.h>\n#include <sys/wait.h>\nint main(void) { signal(SIGCHLD, SIG_IGN); for (int i = 0; i < 3; i++) if (fork() == 0) { while (clock() < CLOCKS_PER_SEC * 7 / 10) {} _exit(0); } while (wait(NULL) > 0 || 0) {} return 0; }',
    }),
    (r) => {
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.timeMs).toBeGreaterThan(1500);
    }),

  single('stdout flood',
    () => ({ language: 'bash', code: 'yes', maxOutputBytes: 10_000 }),
    (r) => {
      expect(r).toMatchObject({ status: 'output_limit_exceeded', stdoutTruncated: true });
      expect(Buffer.byteLength(r.stdout)).toBe(10_000);
    }),

  single('stderr flood',
    () => ({ language: 'bash', code: 'yes >&2', maxOutputBytes: 10_000 }),
    (r) => {
      expect(r).toMatchObject({ status: 'output_limit_exceeded', stderrTruncated: true, stdout: '' });
      expect(Buffer.byteLength(r.stderr)).toBe(10_000);
    }),

  single('output over the cap, exiting 0 at once',
    () => ({
      language: 'c', maxOutputBytes: 65536, expectedOutput: '42\n',
      code: '#include <string.h>\n#include <unistd.h>\nstatic char b[3 + 70000];\nint main(void) { memcpy(b, "42\\n", 3); memset(b + 3, 10, sizeof b - 3); return write(1, b, sizeof b) < 0; }',
    }),
    (r) => expect(r).toMatchObject({ status: 'output_limit_exceeded', stdoutTruncated: true })),

  // Each control byte becomes six characters of JSON: the runner's answer must still fit the transport's cap.
  single('output that JSON-escapes sixfold, at the cap',
    () => ({ language: 'python', code: 'import sys\nsys.stdout.buffer.write(b"\\x01" * 65536)\nsys.stderr.buffer.write(b"\\x00" * 65536)', maxOutputBytes: 65536 }),
    (r) => {
      expect(r).toMatchObject({ status: 'accepted', stdoutTruncated: false, stderrTruncated: false });
      expect(r.stdout).toBe('\x01'.repeat(65536));
    }),

  ...(['/tmp', '/workspace'] as const).map((dir) =>
    single(`filling ${dir}`,
      () => ({
        language: 'python', args: [dir], timeLimitMs: 5000,
        code: lines(
          'import errno, sys',
          'total, err, chunk = 0, None, b"x" * (1 << 20)',
          'try:',
          '    for i in range(1024):',
          '        with open(f"{sys.argv[1]}/fill-{i}", "wb", buffering=0) as f:',
          '            for _ in range(16):',
          '                f.write(chunk); total += 1',
          'except OSError as e:',
          '    err = errno.errorcode.get(e.errno)',
          'print(err, total)'),
      }),
      (r) => {
        expect(r.status).toBe('accepted');
        const [err, total] = r.stdout.trim().split(' ');
        expect(err).toBe('ENOSPC');
        // Both tmpfs of one sandbox share one budget at most.
        expect(Number(total)).toBeLessThanOrEqual(2 * WORKSPACE_SIZE_MB);
      })),

  single('inode exhaustion',
    () => ({
      language: 'python', timeLimitMs: 10_000, wallTimeLimitMs: 20_000,
      code: 'import os\nn = 0\nfor d in ("/tmp", "/workspace", "/dev/shm"):\n    try:\n        while True:\n            os.mkdir(f"{d}/{n}{\'x\' * 200}"); n += 1\n    except OSError as e:\n        print(d, e.strerror)',
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout).toMatch(/\/tmp No space left on device/);
    }),

  single('infinite loop ignoring SIGTERM',
    () => ({
      language: 'c', timeLimitMs: 1000, wallTimeLimitMs: 2000,
      code: '#include <signal.h>\n#include <unistd.h>\nint main(void) { for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_IGN); fork(); for (;;) {} }',
    }),
    (r) => {
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.wallTimeMs).toBeLessThanOrEqual(3000);
    }),

  single('sleeping program (wall time, not CPU)',
    () => ({ language: 'bash', code: "trap '' TERM INT HUP; sleep 100", timeLimitMs: 1000, wallTimeLimitMs: 1500 }),
    (r) => {
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.message).toMatch(/wall time/);
      expect(r.wallTimeMs).toBeGreaterThanOrEqual(1500);
      expect(r.wallTimeMs).toBeLessThan(2500);
      expect(r.timeMs).toBeLessThan(500);
    }),
];

// ---------------------------------------------------------------------------------------------------------------
// The file system
// ---------------------------------------------------------------------------------------------------------------

/** Names the runner, the sidecar and the worker read or write, and other tempting ones. */
const BAIT_NAMES = [
  'stdin', 'stdin-0', 'stdin-1', 'job.json', 'job.json.tmp', 'job.claimed', 'result.json', 'result.json.tmp',
  '.sidecar-heartbeat', '.sidecar-heartbeat.tmp', '.executor.sock', 'output', 'main', 'Main.class', 'a.out', 'core',
];

const filesystem: Attack[] = [
  single("writing to /, /etc, /usr, /opt/runner and the worker's directories",
    ({ host }) => {
      const creates = ['/evil', '/etc/evil', '/usr/evil', '/opt/runner/evil',
        ...['/', '/etc', '/usr', '/usr/bin', '/opt', '/var/tmp', '/root', '/run', '/home', '/proc/1/root', '/sys/fs/cgroup', ...host.hostDirs].map((d) => `${d.replace(/\/$/, '')}/${MARKER}`)];
      const writable = ['/opt/runner/sandbox-executor', '/opt/runner/languages.json', '/usr/bin/python3', '/etc/passwd', '/proc/sysrq-trigger',
        '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/cgroup.procs', '/sys/fs/cgroup/cpuacct/cgroup.procs', '/sys/fs/cgroup/pids/pids.max',
        // cgroup v2 (the lane of scripts/cgroup-v2-lane.sh runs this attack on a unified hierarchy).
        '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/pids.max', '/sys/fs/cgroup/cgroup.subtree_control',
        ...host.sentinelPaths];
      return {
        language: 'bash',
        code: lines(
          `for f in ${creates.join(' ')}; do (echo x > $f) 2>/dev/null && echo "wrote $f"; done`,
          // A test, not a write: were one of these writable, writing would damage the host.
          `for f in ${writable.join(' ')}; do [ -w $f ] && echo "writable $f"; done`,
          'echo ok > /workspace/mine && echo ok > /tmp/mine && echo done'),
      };
    },
    (r) => {
      expect(r.stdout).toBe('done\n');
      for (const path of ['/etc/evil', '/usr/evil', '/evil']) expect(existsSync(path)).toBe(false);
    }),

  {
    name: 'files persisting into the next job',
    async run(ctx) {
      const mark = secret('PERSIST-');
      const places = '/tmp /workspace /dev/shm /var/tmp "$HOME" /run/lock /shared';
      const a = await ctx.run({
        language: 'bash',
        code: lines(
          `for d in ${places}; do (echo ${mark} > "$d/battery-persist") 2>/dev/null && echo "wrote $d"; done`,
          `mkdir -p /tmp/.battery-persist/sub && echo ${mark} > /tmp/.battery-persist/sub/f`,
          'ln -s /etc/passwd /tmp/battery-persist-link 2>/dev/null; ln -s /etc/passwd /workspace/battery-persist-link 2>/dev/null',
          'true'),
      });
      checked(short(a.status), [a], () => {
        expect(a.status).toBe('accepted');
        expect(a.stdout).toMatch(/wrote \/tmp\nwrote \/workspace\n/);
      });
      const b = await ctx.run({
        language: 'bash',
        code: lines(
          `for d in ${places}; do ls -a "$d" 2>/dev/null | grep battery-persist | sed "s|^|found in $d: |"; done`,
          `a=${mark.slice(0, 4)}; b=${mark.slice(4)}; grep -rsl "$a$b" /tmp /workspace /dev/shm /var/tmp /run /shared 2>/dev/null | sed "s/^/found: /"`,
          'echo checked'),
      });
      const verdict = `${short(a.status)}, then ${short(b.status)}: nothing left`;
      checked(verdict, [a, b], () => expect(b).toMatchObject({ status: 'accepted', stdout: 'checked\n' }));
      return { outcomes: [a, b], verdict };
    },
  },

  {
    name: 'symlinks aimed at host files, waiting for the runner',
    async run(ctx) {
      const targets = [...ctx.host.sentinelPaths, '/shared/.battery-sentinel', '/etc/passwd', '/etc/shadow', '/opt/runner/sandbox-executor', '/proc/1/environ'];
      // Planted in a loop for a while: some of these names exist only for a moment (a temporary file renamed).
      const plant = await ctx.run({
        language: 'bash', timeLimitMs: 3000, wallTimeLimitMs: 4000,
        testCases: [{ stdin: 'first case' }, { stdin: 'second case' }],
        code: lines(
          `targets=(${targets.join(' ')}); names=(${BAIT_NAMES.join(' ')})`,
          'end=$((SECONDS + 2))',
          'while [ $SECONDS -lt $end ]; do',
          '  i=0',
          '  for d in /workspace /tmp /shared; do for n in "${names[@]}"; do',
          '    ln -sfn "${targets[$((i % ${#targets[@]}))]}" "$d/$n" 2>/dev/null; i=$((i + 1))',
          '  done; done',
          // Where the shared directory is visible: the sidecar's heartbeat, written as root every second.
          '  ln -sfn /shared/.battery-sentinel /shared/.sidecar-heartbeat.tmp 2>/dev/null',
          '  sleep 0.05',
          'done',
          'echo planted'),
      });
      checked(short(plant.status), [plant], () => {
        expect(plant.status).toBe('accepted');
        expect(plant.testCases?.map((c) => c.stdout)).toEqual(['planted\n', 'planted\n']);
      });
      // The transport still serves the next job, and nothing the runner writes for it lands in a host file.
      const next = await ctx.run({ language: 'python', code: 'print(input())', stdin: 'after the links', expectedOutput: 'after the links' });
      const verdict = `${short(plant.status)}, next job ${short(next.status)}`;
      checked(verdict, [plant, next], () => expect(next.status).toBe('accepted'));
      return { outcomes: [plant, next], verdict };
    },
  },

  single("hard links to other users' files",
    ({ host }) => ({
      language: 'bash',
      code: lines(
        `for t in /workspace/main.sh /etc/passwd /etc/shadow /opt/runner/sandbox-executor /opt/runner/languages.json /usr/bin/python3 /shared/.battery-sentinel ${host.sentinelPaths.join(' ')}; do`,
        '  for d in /workspace /tmp /shared; do i=$((i + 1)); ln "$t" "$d/battery-hardlink-$i" 2>/dev/null && echo "linked $t in $d"; done',
        'done',
        'echo done'),
    }),
    (r) => expect(r).toMatchObject({ status: 'accepted', stdout: 'done\n' })),
];


// ---------------------------------------------------------------------------------------------------------------
// Secrets: the worker's environment, other processes, the expected output
// ---------------------------------------------------------------------------------------------------------------

const secrets: Attack[] = [
  single("identity and environment of user code",
    () => ({ language: 'python', code: 'import os, json\nprint(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "env": dict(os.environ)}))' }),
    (r) => {
      const seen = JSON.parse(r.stdout);
      expect(seen.uid).toBeGreaterThanOrEqual(100_000);
      expect(seen.gid).toBe(seen.uid);
      expect(seen.groups).toEqual([]);
      expect(Object.keys(seen.env).sort()).toEqual(['HOME', 'LANG', 'PATH', 'TMPDIR']);
    }),

  single("hunting credentials in environments (printenv, /proc/*/environ)",
    () => ({
      language: 'bash',
      code: lines(
        '{ printenv; cat /proc/self/environ; cat /proc/1/environ; cat /proc/$PPID/environ',
        '  for p in /proc/[0-9]*; do cat $p/environ; echo; cat $p/cmdline; echo; done; } 2>/dev/null | tr "\\0" "\\n" | sort -u'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout).toMatch(/^PATH=/m);
      expect(r.stdout).not.toMatch(/REDIS_URL|DATABASE_URL|AWS_|GOOGLE_|CONTRACT_SECRET|SIDECAR_/);
    }),

  {
    name: 'stealing the expected output',
    async run(ctx) {
      const answer = secret('ANSWER-');
      const r = await ctx.run({
        language: 'python', expectedOutput: answer, stdin: 'nothing to see here', timeLimitMs: 5000, wallTimeLimitMs: 8000,
        code: lines(
          'import glob, os, re',
          `needle = re.compile((${split('ANSWER-')}).encode() + rb"[0-9a-f]{24}")`,
          'found = set()',
          'paths = []',
          'for pattern in ("/proc/[0-9]*/fd/*", "/proc/[0-9]*/cmdline", "/proc/[0-9]*/environ", "/proc/[0-9]*/mem", "/proc/[0-9]*/root/tmp/**", "/proc/[0-9]*/cwd/**",',
          '                "/tmp/**", "/workspace/**", "/run/**", "/shared/**", "/opt/**", "/var/tmp/**", "/dev/shm/**"):',
          '    paths += glob.glob(pattern, recursive=True)',
          'for p in paths:',
          '    try:',
          '        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)',
          '        try:',
          '            data = os.read(fd, 1 << 20)',
          '        finally:',
          '            os.close(fd)',
          '        found.update(m.group().decode() for m in needle.finditer(data))',
          '    except OSError:',
          '        pass',
          'print("\\n".join(sorted(found)) if found else "nothing")'),
      });
      checked(short(r.status), [r], () => {
        expect(r.status).toBe('wrong_answer');
        expect(r.stdout).toBe('nothing\n');
        expect(JSON.stringify(r)).not.toContain(answer);
      });
      return { outcomes: [r], verdict: short(r.status) };
    },
  },

  single('/proc snooping of other processes',
    () => ({
      language: 'python',
      code: lines(
        'import json, os',
        'me, report = os.getuid(), []',
        'for pid in (p for p in os.listdir("/proc") if p.isdigit()):',
        '    try:',
        '        uid = os.stat(f"/proc/{pid}").st_uid',
        '    except OSError:',
        '        continue',
        '    if uid == me:',
        '        continue',
        '    seen = {}',
        '    for what in ("environ", "maps", "mem", "stack", "syscall", "auxv", "io", "pagemap"):',
        '        try:',
        '            with open(f"/proc/{pid}/{what}", "rb") as f:',
        '                f.read(1)',
        '            seen[what] = True',
        '        except OSError:',
        '            seen[what] = False',
        '    for what in ("fd", "cwd", "root", "map_files"):',
        '        try:',
        '            os.listdir(f"/proc/{pid}/{what}/")',
        '            seen[what] = True',
        '        except OSError:',
        '            seen[what] = False',
        '    report.append({"pid": int(pid), "uid": uid, "readable": [k for k, v in seen.items() if v]})',
        'print(json.dumps(report))'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      const report = JSON.parse(r.stdout) as { pid: number; uid: number; readable: string[] }[];
      // The runner and its launcher are visible, as in any pid namespace; nothing of them is readable.
      expect(report.length).toBeGreaterThan(0);
      expect(report.filter((p) => p.readable.length)).toEqual([]);
    }),
];

// ---------------------------------------------------------------------------------------------------------------
// The network: only loopback targets and local sockets
// ---------------------------------------------------------------------------------------------------------------

const network: Attack[] = [
  single("connecting to the host's Redis on 127.0.0.1",
    ({ host }) => ({
      language: 'python',
      code: lines(
        'import socket',
        'for host, family in (("127.0.0.1", socket.AF_INET), ("localhost", socket.AF_INET), ("127.0.0.2", socket.AF_INET), ("::1", socket.AF_INET6)):',
        '    try:',
        '        s = socket.socket(family, socket.SOCK_STREAM)',
        '        s.settimeout(2)',
        `        s.connect((host, ${host.redis.port}))`,
        '        s.sendall(b"SET battery:pwned 1\\r\\nDEL battery:secret\\r\\n")',
        '        print("connected", host, s.recv(100))',
        '    except OSError as e:',
        '        print("blocked", host, e.errno)'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout.trim().split('\n').every((l) => l.startsWith('blocked'))).toBe(true);
    }),

  single('a server on the host loopback',
    ({ host }) => ({
      language: 'python',
      code: `import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${host.tcpPort}), timeout=2)\n    print("connected")\nexcept OSError as e:\n    print("blocked", e.errno)`,
    }),
    (r) => expect(r.stdout).toMatch(/^blocked/)),

  single('DNS lookups (to a resolver on loopback)',
    ({ host }) => ({
      language: 'python',
      code: lines(
        'import socket, struct',
        'query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\\x07example\\x03com\\x00" + struct.pack(">HH", 1, 1)',
        `for family, address in ((socket.AF_INET, ("127.0.0.1", ${host.udpPort})), (socket.AF_INET6, ("::1", ${host.udpPort}))):`,
        '    try:',
        '        s = socket.socket(family, socket.SOCK_DGRAM)',
        '        s.sendto(query, address)',
        '        print("sent udp", address[0])',
        '    except OSError as e:',
        '        print("blocked udp", address[0], e.errno)',
        'try:',
        `    s = socket.create_connection(("127.0.0.1", ${host.tcpPort}), timeout=2)`,
        '    s.sendall(struct.pack(">H", len(query)) + query)',
        '    print("sent tcp")',
        'except OSError as e:',
        '    print("blocked tcp", e.errno)'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout).toMatch(/^blocked udp 127\.0\.0\.1 \d+\nblocked udp ::1 \d+\nblocked tcp \d+\n$/);
    }),

  single('binding a listening socket',
    () => ({
      language: 'python',
      code: lines(
        'import socket',
        'attempts = [("tcp4", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0)), ("tcp6", socket.AF_INET6, socket.SOCK_STREAM, ("::1", 0)),',
        '            ("udp4", socket.AF_INET, socket.SOCK_DGRAM, ("0.0.0.0", 0)), ("raw", socket.AF_INET, socket.SOCK_RAW, None),',
        '            ("packet", socket.AF_PACKET, socket.SOCK_RAW, None), ("netlink", socket.AF_NETLINK, socket.SOCK_RAW, None)]',
        'for name, family, kind, address in attempts:',
        '    try:',
        '        s = socket.socket(family, kind)',
        '        if address is not None:',
        '            s.bind(address)',
        '        if kind == socket.SOCK_STREAM:',
        '            s.listen()',
        '        print("bound", name, s.getsockname())',
        '    except OSError as e:',
        '        print("blocked", name, e.errno)'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      const out = r.stdout.trim().split('\n');
      expect(out).toHaveLength(6);
      expect(out.every((l) => l.startsWith('blocked'))).toBe(true);
    }),

  // AF_UNIX is the one socket family jobs keep; abstract names live in the network namespace, not the file system.
  single('an abstract unix socket on the host',
    ({ host }) => ({
      language: 'python',
      code: lines(
        'import socket',
        'names = [l.split()[-1][1:] for l in open("/proc/net/unix") if l.split()[-1].startswith("@")]',
        `names = [n for n in names if n.startswith(${split('battery-canary-')})] or [${JSON.stringify(host.abstractName)}]`,
        'for name in names:',
        '    for address in ("\\0" + name.replace("@", "\\0"), ("\\0" + name.rstrip("@")).ljust(108, "\\0")):',
        '        try:',
        '            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
        '            s.connect(address)',
        '            print("connected", repr(address[:40]))',
        '        except OSError as e:',
        '            print("blocked", e.errno)'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout).not.toMatch(/connected/);
    }),

  single('reaching the Docker socket',
    () => ({
      language: 'python',
      code: lines(
        'import socket',
        'for path in ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock", "/run/docker/containerd/containerd.sock"):',
        '    try:',
        '        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
        '        s.connect(path)',
        '        s.sendall(b"POST /containers/create HTTP/1.0\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\n\\r\\n{}")',
        '        print("reached", path, s.recv(200))',
        '    except OSError as e:',
        '        print("unreachable", path, e.errno)'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      const out = r.stdout.trim().split('\n');
      expect(out).toHaveLength(5);
      expect(out.every((l) => l.startsWith('unreachable'))).toBe(true);
    }),
];

// ---------------------------------------------------------------------------------------------------------------
// Processes, privileges, the runner
// ---------------------------------------------------------------------------------------------------------------

const processes: Attack[] = [
  single('background processes outliving the job (setsid, nohup, double fork)',
    () => ({
      language: 'bash',
      code: lines(
        'setsid sleep 60 &',
        'nohup sleep 60 >/dev/null 2>&1 &',
        '( sleep 60 & )',
        "( setsid sh -c 'sleep 60 &' & )",
        'sleep 60 & disown',
        '( while :; do echo spam; sleep 0.1; done ) &',
        'python3 -c "import os, time',
        'if os.fork(): os._exit(0)',
        'os.setsid()',
        'if os.fork(): os._exit(0)',
        'time.sleep(60)" &',
        "command -v node >/dev/null && node -e \"require('child_process').spawn('sleep', ['60'], { detached: true, stdio: 'ignore' }).unref()\"",
        'echo started'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout).toContain('started\n');
    }),

  single('setuid binaries, sudo, unshare, mount',
    () => ({
      language: 'bash',
      code: lines(
        'grep -E "^(NoNewPrivs|CapInh|CapPrm|CapEff|CapAmb)" /proc/self/status',
        'attempts=("sudo -n id -u" "su -c \'id -u\'" "unshare -r id -u" "unshare -m id -u" "unshare -n id -u" "unshare -p -f id -u" "nsenter -t 1 -m id -u"',
        '          "chroot / id -u" "mount -t tmpfs none /tmp" "umount -l /workspace" "setpriv --reuid 0 id -u" "newgrp root")',
        'for c in "${attempts[@]}"; do',
        '  out=$(timeout 2 sh -c "$c" </dev/null 2>&1); rc=$?',
        '  [ $rc -eq 0 ] && echo "succeeded: $c: $out"',
        'done',
        'python3 -c "import os',
        'for f in (os.setuid, os.seteuid, os.setgid):',
        '    try: f(0); print(\'succeeded:\', f.__name__)',
        '    except OSError: pass"',
        'echo "uid $(id -u)"'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout).toMatch(/^NoNewPrivs:\t1$/m);
      // Inheritable capabilities (bubblewrap leaves SETUID/SETGID there) grant nothing without ambient or file
      // capabilities, and no_new_privs makes exec ignore file capabilities and setuid bits.
      for (const cap of ['CapPrm', 'CapEff', 'CapAmb']) expect(r.stdout).toMatch(new RegExp(`^${cap}:\\t0000000000000000$`, 'm'));
      expect(r.stdout).not.toMatch(/succeeded/);
      expect(Number(r.stdout.match(/^uid (\d+)$/m)?.[1])).toBeGreaterThanOrEqual(100_000);
    }),

  single('namespaces, kernel keys and IPC objects by system call',
    () => ({
      language: 'python',
      // x86_64 syscall numbers: unshare(CLONE_NEWUSER), add_key, msgget, shmget.
      code: 'import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nfor name, nr, args in (("unshare", 272, (0x10000000,)), ("add_key", 248, (b"user", b"k", b"x", 1, -4)), ("msgget", 68, (0, 0o1600)), ("shmget", 29, (0, 4096, 0o1600))):\n    rc = libc.syscall(nr, *args)\n    print(name, rc, os.strerror(ctypes.get_errno()))',
    }),
    (r) => expect(r.stdout).toBe(['unshare', 'add_key', 'msgget', 'shmget'].map((n) => `${n} -1 Operation not permitted\n`).join(''))),

  single('signalling and tracing the runner',
    () => ({
      language: 'python',
      code: lines(
        'import ctypes, os, signal',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'launcher = os.getppid()',
        // Where the job's parent is the sandbox's pid 1, nothing above it is visible (its parent reads as 0): pid 1 again.
        'runner = int(open(f"/proc/{launcher}/stat").read().rsplit(")", 1)[1].split()[1]) or 1',
        'def attempt(name, fn):',
        '    try:',
        '        rc = fn()',
        '        err = ctypes.get_errno() if rc == -1 else 0',
        '    except OSError as e:',
        '        rc, err = -1, e.errno',
        '    print(name, "denied" if rc == -1 else "ALLOWED", os.strerror(err) if err else "")',
        'for who, pid in (("launcher", launcher), ("runner", runner), ("pid 1", 1)):',
        '    attempt(f"ptrace attach {who}", lambda: libc.ptrace(16, pid, 0, 0))',
        '    attempt(f"ptrace seize {who}", lambda: libc.ptrace(0x4206, pid, 0, 0))',
        '    attempt(f"open mem {who}", lambda: os.close(os.open(f"/proc/{pid}/mem", os.O_RDWR)))',
        '    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):',
        '        attempt(f"kill {sig.name} {who}", lambda: os.kill(pid, sig))',
        '    attempt(f"signal 0 {who}", lambda: libc.kill(pid, 0))'),
    }),
    (r) => {
      expect(r.status).toBe('accepted');
      expect(r.stdout).not.toMatch(/ALLOWED/);
      expect(r.stdout.trim().split('\n')).toHaveLength(21);
    }),

  single("stopping or killing the launcher's killer to hang the job",
    () => ({
      language: 'c', wallTimeLimitMs: 3000,
      code: '#include <signal.h>\n#include <stdio.h>\n#include <unistd.h>\nint main(void) { pid_t parent = getpid(); if (fork() == 0) { while (getppid() == parent) {} for (;;) { kill(-1, SIGSTOP); kill(-1, SIGKILL); } } puts("ok"); return 0; }',
    }),
    (r) => expect(r).toMatchObject({ status: 'accepted', stdout: 'ok\n' })),

  single('changing what the compiler made',
    () => ({
      language: 'c',
      code: '#include <errno.h>\n#include <stdio.h>\n#include <string.h>\n#include <unistd.h>\nint main(void) { printf("%s|", unlink("main") ? strerror(errno) : "deleted"); printf("%s\\n", fopen("main", "w") ? "opened" : strerror(errno)); return 0; }',
    }),
    (r) => expect(r.stdout).toBe('Operation not permitted|Permission denied\n')),
];

// ---------------------------------------------------------------------------------------------------------------
// Forging a verdict: none of these may come out `accepted`
// ---------------------------------------------------------------------------------------------------------------

const FAKE_RESULT = JSON.stringify({
  status: 'accepted', stdout: 'forged\n', stderr: '', compileOutput: '', exitCode: 0, signal: null, timeMs: 1, wallTimeMs: 1,
  memoryKb: 1, stdoutTruncated: false, stderrTruncated: false, message: null, compilations: 0,
});

const forging: Attack[] = [
  forgery('forged result on stdout and stderr, runner killed (kill -9 $PPID, kill -9 -1)',
    () => ({ language: 'bash', code: 'kill -9 -1; kill -9 $PPID 1; echo \'{"status":"accepted","stdout":"forged"}\'; echo \'{"status":"accepted"}\' >&2; exit 3' }),
    (r) => {
      expect(r).toMatchObject({ status: 'runtime_error', exitCode: 3 });
      expect(r.stdout).toContain('forged');
    }),

  forgery("writing to the runner's file descriptors",
    () => ({
      language: 'bash',
      code: lines(
        `line='${FAKE_RESULT}'`,
        'for fd in $(seq 3 20); do (echo "$line" >&$fd) 2>/dev/null && echo "wrote fd $fd"; done',
        'for f in /proc/$PPID/fd/* /proc/1/fd/* /proc/[0-9]*/fd/[0-9]*; do case "$f" in /proc/$$/*|/proc/self/*) continue;; esac; (echo "$line" > "$f") 2>/dev/null && echo "wrote $f"; done',
        'exit 1'),
    }),
    (r) => expect(r).toMatchObject({ status: 'runtime_error', exitCode: 1, stdout: '' })),

  forgery('closing stdout early, then exiting 0',
    () => ({ language: 'bash', expectedOutput: 'the right answer', code: `exec 1>&-; echo '${FAKE_RESULT}' >&2; exec 2>&-; sleep 0.2; exit 0` }),
    (r) => expect(r).toMatchObject({ status: 'wrong_answer', stdout: '' })),

  forgery('an accepted result line, then exit 1',
    () => ({ language: 'python', code: `import os, sys\nsys.stdout.write(${JSON.stringify(`${FAKE_RESULT}\n`)})\nsys.stdout.flush()\nos._exit(1)` }),
    (r) => expect(r).toMatchObject({ status: 'runtime_error', exitCode: 1 })),

  forgery('a fake result instead of the answer',
    () => ({ language: 'python', expectedOutput: 'forged', code: `print(${JSON.stringify(FAKE_RESULT)})\nprint(${JSON.stringify(FAKE_RESULT)}, file=__import__("sys").stderr)` }),
    (r) => expect(r.status).toBe('wrong_answer')),
];

// ---------------------------------------------------------------------------------------------------------------
// Several jobs at once
// ---------------------------------------------------------------------------------------------------------------

const concurrency: Attack[] = [
  {
    name: "reading another job's workspace while it runs",
    timeoutMs: 90_000,
    async run(ctx) {
      const hidden = secret('VICTIM-');
      const victim = ctx.run({
        language: 'bash', stdin: hidden, args: [hidden], timeLimitMs: 2000, wallTimeLimitMs: 8000,
        code: `echo ${hidden} > /workspace/secret; echo ${hidden} > /tmp/secret; mkdir -p /tmp/d && echo ${hidden} > /tmp/d/s; sleep 5; echo done`,
      });
      // The attacker searches for as long as the victim holds its secret; the needle is assembled at run time.
      const attacker = ctx.run({
        language: 'python', timeLimitMs: 5000, wallTimeLimitMs: 9000,
        code: lines(
          'import glob, os, re, time',
          `needle = re.compile((${split('VICTIM-')}).encode() + rb"[0-9a-f]{24}")`,
          'found, deadline = set(), time.time() + 4',
          'def scan(path):',
          '    try:',
          '        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)',
          '        try:',
          '            found.update(m.group().decode() for m in needle.finditer(os.read(fd, 1 << 16)))',
          '        finally:',
          '            os.close(fd)',
          '    except OSError:',
          '        pass',
          'while time.time() < deadline:',
          '    roots = ["/workspace/.."]',
          '    roots += glob.glob("/proc/[0-9]*/cwd") + glob.glob("/proc/[0-9]*/root/workspace") + glob.glob("/proc/[0-9]*/root/tmp")',
          '    for pattern in ("/proc/[0-9]*/cmdline", "/proc/[0-9]*/fd/*", "/proc/[0-9]*/environ"):',
          '        for p in glob.glob(pattern):',
          '            scan(p)',
          '    for root in roots:',
          '        for d, dirs, files in os.walk(root):',
          '            if os.path.realpath(d) == "/":',
          '                dirs[:] = [x for x in dirs if x not in ("proc", "sys", "dev", "usr", "bin", "sbin", "lib", "lib64", "boot")]',
          '            for f in files:',
          '                scan(os.path.join(d, f))',
          '    time.sleep(0.1)',
          'print("\\n".join(sorted(found)) if found else "nothing")'),
      });
      const [v, a] = await Promise.all([victim, attacker]);
      const verdict = `victim ${short(v.status)}, attacker ${short(a.status)}`;
      checked(verdict, [v, a], () => {
        expect(v).toMatchObject({ status: 'accepted', stdout: 'done\n' });
        expect(a).toMatchObject({ status: 'accepted', stdout: 'nothing\n' });
        expect(JSON.stringify(a)).not.toContain(hidden);
      });
      return { outcomes: [a], verdict: `${verdict}, found nothing` };
    },
  },

  {
    name: '20 jobs at once (fork bombs, sleepers, hellos)',
    timeoutMs: 180_000,
    async run(ctx) {
      type Kind = 'bomb' | 'sleep' | 'hello';
      const kinds: Kind[] = Array.from({ length: 20 }, (_, i) => (['bomb', 'sleep', 'hello'] as const)[i % 3]);
      const jobs: Record<Kind, JobSpec> = {
        bomb: { language: 'bash', code: 'bomb() { bomb | bomb & }; bomb; sleep 1; echo survived', maxProcesses: 16, timeLimitMs: 1000, wallTimeLimitMs: 2000 },
        sleep: { language: 'bash', code: 'sleep 100', timeLimitMs: 500, wallTimeLimitMs: 1000 },
        hello: { language: 'python', code: 'print("hello")', expectedOutput: 'hello', wallTimeLimitMs: 20_000 },
      };
      const outcomes = await Promise.all(kinds.map((k) => ctx.run(jobs[k])));
      const counts = new Map<string, number>();
      for (const r of outcomes) counts.set(short(r.status), (counts.get(short(r.status)) ?? 0) + 1);
      const verdict = [...counts].sort().map(([s, n]) => `${n} ${s}`).join(', ');
      checked(verdict, outcomes, () => outcomes.forEach((r, i) => {
        if (kinds[i] === 'bomb') expect(['accepted', 'runtime_error', 'time_limit_exceeded']).toContain(r.status);
        if (kinds[i] === 'sleep') expect(r).toMatchObject({ status: 'time_limit_exceeded', message: expect.stringMatching(/wall time/) });
        if (kinds[i] === 'hello') expect(r).toMatchObject({ status: 'accepted', stdout: 'hello\n' });
      }));
      return { outcomes, verdict };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Over the operator caps: rejected by the worker before any sandbox starts
// ---------------------------------------------------------------------------------------------------------------

/** The transport under test, counting the jobs that reach it. Never reaps: other suites' sandboxes are not ours. */
function counting(inner: RunnerTransport): RunnerTransport & { ran: string[] } {
  const ran: string[] = [];
  return {
    mode: inner.mode,
    ran,
    run: (job) => {
      ran.push(job.id);
      return inner.run(job);
    },
    languages: () => inner.languages(),
    close: async () => {},
    reapOrphans: async () => 0,
  };
}

const caps: Attack[] = [
  {
    name: 'source, stdin, argv, files and test cases over the caps',
    async run(ctx) {
      const stream = `battery-${randomUUID()}`;
      const config = loadConfig({
        REDIS_URL: ctx.queue.url, STREAM_KEY: stream, READ_BLOCK_MS: '100', RUNNER_MODE: 'process', METRICS_PORT: '0',
        MAX_CODE_BYTES: '1000', MAX_STDIN_BYTES: '1000', MAX_ARGS: '4', MAX_FILES: '3', MAX_TEST_CASES: '2',
      });
      const transport = counting(ctx.transport);
      const worker = new StreamWorker(config, `battery-${randomUUID().slice(0, 8)}`, transport, recordingLogger());
      await worker.start();
      const file = (name: string, size: number) => ({ name, content: `# ${'x'.repeat(size)}\n` });
      const over: [Record<string, unknown>, RegExp][] = [
        [{ code: `# ${'x'.repeat(5000)}` }, /code bytes 5002 exceeds the cap 1000/],
        [{ files: [file('main.py', 600), file('lib.py', 600)] }, /code bytes 1206 exceeds the cap 1000/],
        [{ code: 'print(1)', stdin: 'y'.repeat(2000) }, /stdin bytes 2000 exceeds the cap 1000/],
        [{ code: 'print(1)', testCases: [{ stdin: 'y'.repeat(600) }, { stdin: 'y'.repeat(600) }] }, /stdin bytes 1200 exceeds the cap 1000/],
        [{ code: 'print(1)', args: ['1', '2', '3', '4', '5'] }, /args 5 exceeds the cap 4/],
        [{ files: ['a', 'b', 'c', 'd'].map((n) => file(`${n}.py`, 1)) }, /files 4 exceeds the cap 3/],
        [{ code: 'print(1)', testCases: [{}, {}, {}] }, /testCases 3 exceeds the cap 2/],
        [{ code: 'print(1)', memoryLimitMb: 4096 }, /memoryLimitMb 4096 exceeds the cap 1024/],
      ];
      try {
        const waiter = ctx.queue.client.duplicate();
        try {
          const submit = async (fields: Record<string, unknown>) => {
            const id = `battery-${randomUUID()}`;
            await ctx.queue.client.xadd(stream, '*', 'job', JSON.stringify({ id, language: 'python', ...fields }));
            return id;
          };
          const result = async (id: string) => {
            const r = await waitForResult(waiter, id, 30_000);
            if (!r) throw new Error(`no result for ${id}`);
            return r;
          };
          const rejected = [];
          for (const [fields, message] of over) {
            const r = await result(await submit(fields));
            checked(short(r.status), [r], () => expect(r).toMatchObject({ status: 'rejected', message: expect.stringMatching(message) }));
            rejected.push(r);
          }
          checked(`${rejected.length} REJ, ${transport.ran.length} reached the transport`, [], () => expect(transport.ran).toEqual([]));
          // The same worker and transport do run a job within the caps.
          const ok = await submit({ code: 'print("within the caps")' });
          const r = await result(ok);
          const verdict = `${rejected.length} REJ (none reached the transport), then ${short(r.status)}`;
          checked(verdict, [r], () => {
            expect(r).toMatchObject({ status: 'accepted', stdout: 'within the caps\n' });
            expect(transport.ran).toEqual([ok]);
          });
          return { outcomes: [...rejected, r], verdict };
        } finally {
          waiter.disconnect();
        }
      } finally {
        await worker.close();
      }
    },
  },
];

export const ATTACKS: Attack[] = [...resources, ...hostWide, ...caseIsolation, ...filesystem, ...secrets, ...network, ...sockets, ...processes, ...blame, ...forging, ...concurrency, ...caps];
