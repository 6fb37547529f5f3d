// The contract every transport passes: the same programs, the same verdicts, the same measurements.
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../runner/languages.js';
import { normalizeJob, type JobInput } from '../../runner/protocol/job.js';
import type { RunnerTransport } from '../../worker/transports/transport.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { COMPILE_ERRORS, PROGRAMS, type Behaviour } from '../support/programs.js';
import { availableTransports } from '../support/transports.js';

const TRANSPORTS = await availableTransports();

let seq = 0;

describe.each(TRANSPORTS.map((t) => [t.name, t] as const))('%s transport', (_name, factory) => {
  let transport: RunnerTransport;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ transport, stop } = await factory.start({ ownerId: 'contract-test' }));
  });
  afterAll(async () => {
    await transport.close();
    await stop?.();
  });
  afterEach(() => expectNothingLeft());

  const run = (language: string, behaviour: Behaviour, extra: Partial<JobInput> = {}) =>
    transport.run(normalizeJob({ id: `contract-${++seq}`, language, code: PROGRAMS[language][behaviour], ...extra }));

  describe.each(Object.keys(LANGUAGES))('%s', (language) => {
    it('hello world is accepted with its stdout', async () => {
      const r = await run(language, 'hello');
      expect(r).toMatchObject({ status: 'accepted', stdout: 'hello world\n', exitCode: 0 });
    });

    it('echoes stdin', async () => {
      const stdin = 'line one\nline two ✓\n';
      const r = await run(language, 'echo', { stdin });
      expect(r).toMatchObject({ status: 'accepted', stdout: stdin });
    });

    it('exit 3 is a runtime_error with exitCode 3', async () => {
      const r = await run(language, 'exit3');
      expect(r).toMatchObject({ status: 'runtime_error', exitCode: 3 });
    });

    it('a busy loop under a 1 s limit is time_limit_exceeded within wall limit + 1 s', async () => {
      const job = { timeLimitMs: 1000 };
      const r = await run(language, 'busyLoop', job);
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.wallTimeMs).toBeLessThanOrEqual(normalizeJob({ id: 'x', language, code: '', ...job }).wallTimeLimitMs + 1000);
    });

    it('sleep 100 is time_limit_exceeded by wall time', async () => {
      const r = await run(language, 'sleep', { timeLimitMs: 1000, wallTimeLimitMs: 2000 });
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.message).toMatch(/wall time/);
      expect(r.wallTimeMs).toBeGreaterThanOrEqual(2000);
      expect(r.wallTimeMs).toBeLessThan(3000);
    });

    it('1 GB under a 128 MB limit is memory_limit_exceeded', async () => {
      const r = await run(language, 'allocate1g', { memoryLimitMb: 128, timeLimitMs: 5000 });
      expect(r.status).toBe('memory_limit_exceeded');
    });

    it('endless printing is output_limit_exceeded, cut at the cap', async () => {
      const r = await run(language, 'printForever', { maxOutputBytes: 10_000 });
      expect(r.status).toBe('output_limit_exceeded');
      expect(r.stdoutTruncated).toBe(true);
      expect(Buffer.byteLength(r.stdout)).toBe(10_000);
    });

    it('a mismatched expectedOutput is wrong_answer', async () => {
      const r = await run(language, 'hello', { expectedOutput: 'goodbye world\n' });
      expect(r.status).toBe('wrong_answer');
      expect((await run(language, 'hello', { expectedOutput: 'hello world   \n\n' })).status).toBe('accepted');
    });

    it('a 100 MB program reports memoryKb ≥ 100 MB and below its limit', async () => {
      const r = await run(language, 'allocate100m', { memoryLimitMb: 256, timeLimitMs: 5000 });
      expect(r.status).toBe('accepted');
      expect(r.memoryKb).toBeGreaterThanOrEqual(100 * 1024);
      expect(r.memoryKb).toBeLessThan(256 * 1024);
    });

    it('a 1 s CPU loop reports timeMs within 20%', async () => {
      const r = await run(language, 'cpuSecond', { timeLimitMs: 5000 });
      expect(r.status).toBe('accepted');
      expect(r.timeMs).toBeGreaterThanOrEqual(800);
      expect(r.timeMs).toBeLessThanOrEqual(1200);
    });
  });

  describe.each(Object.keys(COMPILE_ERRORS))('%s syntax error', (language) => {
    it('is compile_error with the compiler message', async () => {
      const r = await transport.run(normalizeJob({ id: `contract-${++seq}`, language, code: COMPILE_ERRORS[language] }));
      expect(r.status).toBe('compile_error');
      expect(r.compileOutput).toMatch(/error/);
      expect(r.stdout).toBe('');
    });
  });

  it('a job over the memory limit at exit is measured, not guessed: JVM hello world under 64 MB works', async () => {
    const r = await run('java', 'hello', { memoryLimitMb: 64 });
    expect(r).toMatchObject({ status: 'accepted', stdout: 'hello world\n' });
  });

  describe('several test cases', () => {
    // Reads two numbers, prints their sum; compiled so that "compiles once" means something.
    const sum = '#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << "\\n"; }';
    const cases = [
      { stdin: '1 2', expectedOutput: '3' },
      { stdin: '10 20', expectedOutput: '30' },
      { stdin: '5 5', expectedOutput: '11' },
      { stdin: '-1 1', expectedOutput: '0' },
      { stdin: '100 1', expectedOutput: '101' },
    ];

    it('a 5-case submission compiles once and reports 5 verdicts; the first failure speaks for the job', async () => {
      const r = await transport.run(normalizeJob({ id: `contract-${++seq}`, language: 'cpp', code: sum, testCases: cases }));
      expect(r.compilations).toBe(1);
      expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'accepted', 'wrong_answer', 'accepted', 'accepted']);
      expect(r.testCases?.map((c) => c.stdout)).toEqual(['3\n', '30\n', '10\n', '0\n', '101\n']);
      expect(r).toMatchObject({ status: 'wrong_answer', stdout: '10\n' });
      for (const c of r.testCases ?? []) expect(c.memoryKb).toBeGreaterThan(0);
    });

    it('stopOnFirstFailure skips the cases after the first failure', async () => {
      const r = await transport.run(normalizeJob({ id: `contract-${++seq}`, language: 'cpp', code: sum, testCases: cases, stopOnFirstFailure: true }));
      expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'accepted', 'wrong_answer', 'skipped', 'skipped']);
      expect(r.status).toBe('wrong_answer');
    });

    it('each case has its own limits: one sleeping case is a TLE, the others are judged', async () => {
      const code = 'import sys, time\nn = int(sys.stdin.read())\nif n == 2: time.sleep(100)\nprint(n * n)';
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python', code, timeLimitMs: 1000, wallTimeLimitMs: 1500,
        testCases: [{ stdin: '1', expectedOutput: '1' }, { stdin: '2', expectedOutput: '4' }, { stdin: '3', expectedOutput: '9' }],
      }));
      expect(r.testCases?.map((c) => c.status)).toEqual(['accepted', 'time_limit_exceeded', 'accepted']);
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.compilations).toBe(0);
    });
  });

  describe('isolation', () => {
    it('user code runs as its own uid with none of the worker\'s environment', async () => {
      process.env.CONTRACT_SECRET = 'must-not-leak';
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python',
        code: 'import os, json\nprint(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "env": dict(os.environ)}))',
      }));
      const seen = JSON.parse(r.stdout);
      expect(seen.uid).toBeGreaterThanOrEqual(100_000);
      expect(seen.gid).toBe(seen.uid);
      expect(seen.groups).toEqual([]);
      expect(Object.keys(seen.env).sort()).toEqual(['HOME', 'LANG', 'PATH', 'TMPDIR']);
    });

    it('cannot kill the runner or forge its verdict', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'bash',
        code: 'kill -9 -1; kill -9 $PPID 1; echo \'{"status":"accepted","stdout":"forged"}\'; echo \'{"status":"accepted"}\' >&2; exit 3',
      }));
      expect(r).toMatchObject({ status: 'runtime_error', exitCode: 3 });
      expect(r.stdout).toContain('forged');
    });

    it('cannot reach a server on the host loopback', async () => {
      const server = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      let connections = 0;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python',
        code: `import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${port}), timeout=2)\n    print("connected")\nexcept OSError as e:\n    print("blocked", e.errno)`,
      }));
      server.close();
      expect(r.stdout).toMatch(/^blocked/);
      expect(connections).toBe(0);
    });

    it('a fork bomb is contained by the process limit and leaves nothing behind', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'bash', code: 'bomb() { bomb | bomb & }; bomb; sleep 1; echo survived', maxProcesses: 16, timeLimitMs: 2000,
      }));
      expect(['accepted', 'runtime_error', 'time_limit_exceeded']).toContain(r.status);
    });

    it('cannot write outside its workspace and /tmp', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'bash',
        code: 'for f in /etc/evil /usr/evil /evil /opt/runner/evil; do (echo x > $f) 2>/dev/null && echo "wrote $f"; done; echo ok > /workspace/mine && echo ok > /tmp/mine && echo done',
      }));
      expect(r.stdout).toBe('done\n');
      expect(existsSync('/etc/evil') || existsSync('/usr/evil') || existsSync('/evil')).toBe(false);
    });

    it('cannot stop or kill the launcher\'s killer to hang the job', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'c', wallTimeLimitMs: 3000,
        code: '#include <signal.h>\n#include <stdio.h>\n#include <unistd.h>\nint main(void) { pid_t parent = getpid(); if (fork() == 0) { while (getppid() == parent) {} for (;;) { kill(-1, SIGSTOP); kill(-1, SIGKILL); } } puts("ok"); return 0; }',
      }));
      expect(r).toMatchObject({ status: 'accepted', stdout: 'ok\n' });
    });

    it('output over the cap is output_limit_exceeded even when the program exits 0 at once', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'c', maxOutputBytes: 65536, expectedOutput: '42\n',
        code: '#include <string.h>\n#include <unistd.h>\nstatic char b[3 + 70000];\nint main(void) { memcpy(b, "42\\n", 3); memset(b + 3, 10, sizeof b - 3); return write(1, b, sizeof b) < 0; }',
      }));
      expect(r).toMatchObject({ status: 'output_limit_exceeded', stdoutTruncated: true });
    });

    it('CPU of children the kernel reaped on its own still counts', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'c', timeLimitMs: 1000, wallTimeLimitMs: 10_000,
        code: '#include <signal.h>\n#include <time.h>\n#include <unistd.h>\n#include <sys/wait.h>\nint main(void) { signal(SIGCHLD, SIG_IGN); for (int i = 0; i < 3; i++) if (fork() == 0) { while (clock() < CLOCKS_PER_SEC * 7 / 10) {} _exit(0); } while (wait(NULL) > 0 || 0) {} return 0; }',
      }));
      expect(r.status).toBe('time_limit_exceeded');
      expect(r.timeMs).toBeGreaterThan(1500);
    });

    it('exhausting tmpfs inodes gets a verdict and leaves the runner alive', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python', timeLimitMs: 10_000, wallTimeLimitMs: 20_000,
        code: 'import os\nn = 0\nfor d in ("/tmp", "/workspace", "/dev/shm"):\n    try:\n        while True:\n            os.mkdir(f"{d}/{n}{\'x\' * 200}"); n += 1\n    except OSError as e:\n        print(d, e.strerror)',
      }));
      expect(r.status).toBe('accepted');
      expect(r.stdout).toMatch(/\/tmp No space left on device/);
    });

    it('cannot create namespaces, kernel keys or IPC objects', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python',
        // x86_64 syscall numbers: unshare(CLONE_NEWUSER), add_key, msgget, shmget.
        code: 'import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nfor name, nr, args in (("unshare", 272, (0x10000000,)), ("add_key", 248, (b"user", b"k", b"x", 1, -4)), ("msgget", 68, (0, 0o1600)), ("shmget", 29, (0, 4096, 0o1600))):\n    rc = libc.syscall(nr, *args)\n    print(name, rc, os.strerror(ctypes.get_errno()))',
      }));
      expect(r.stdout).toBe(['unshare', 'add_key', 'msgget', 'shmget'].map((n) => `${n} -1 Operation not permitted\n`).join(''));
    });

    it('memory spread over two processes is measured together', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python', memoryLimitMb: 256, timeLimitMs: 5000,
        code: 'import os, time\npid = os.fork()\nx = b"x" * (150 << 20)\ntime.sleep(0.5)\nif pid: os.wait()',
      }));
      expect(r.status).toBe('memory_limit_exceeded');
      expect(r.memoryKb).toBeGreaterThan(256 * 1024);
    });

    it('files kept in tmpfs count as the job\'s memory', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'bash', memoryLimitMb: 64,
        code: 'for i in 1 2; do head -c 25M /dev/zero > /tmp/a$i; head -c 25M /dev/zero > /workspace/b$i; done; sleep 0.3; echo done',
      }));
      expect(r.status).toBe('memory_limit_exceeded');
      expect(r.memoryKb).toBeGreaterThanOrEqual(100 * 1024);
    });

    it('memory held in socket buffers counts', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'python', memoryLimitMb: 64, timeLimitMs: 5000,
        code: 'import socket, time\npairs, stored, chunk = [], 0, b"x" * 65536\nwhile stored < 150 << 20 and len(pairs) < 300:\n    a, b = socket.socketpair()\n    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)\n    a.setblocking(False)\n    try:\n        while stored < 150 << 20:\n            stored += a.send(chunk)\n    except BlockingIOError:\n        pass\n    pairs.append((a, b))\ntime.sleep(0.3)\nprint(stored >> 20)',
      }));
      expect(r.status).toBe('memory_limit_exceeded');
    });

    it('the program cannot delete or change what the compiler made', async () => {
      const r = await transport.run(normalizeJob({
        id: `contract-${++seq}`, language: 'c',
        code: '#include <errno.h>\n#include <stdio.h>\n#include <string.h>\n#include <unistd.h>\nint main(void) { printf("%s|", unlink("main") ? strerror(errno) : "deleted"); printf("%s\\n", fopen("main", "w") ? "opened" : strerror(errno)); return 0; }',
      }));
      expect(r.stdout).toBe('Operation not permitted|Permission denied\n');
    });
  });
});
