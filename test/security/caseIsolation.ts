// Attacks of issue 19 for the battery: state carried from one test case to the next (deep trees, directories and
// files the compile step made world-writable, memory parked in files to shrink the next case's baseline), work the
// sandbox does for a job outside its limits, a job's own failures made to look like the platform's, unix sockets
// addressed from inside, and the sandbox naming its worker.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { MAX_COMPILED_DEPTH, MAX_COMPILED_ENTRIES } from '../../core/protocol/limits.js';
import type { RunOutcome } from '../../core/protocol/result.js';
import { checked, lines, short, single, type Attack, type AttackContext } from './attackKit.js';

const statuses = (r: RunOutcome) => r.testCases?.map((c) => c.status);

// ---------------------------------------------------------------------------------------------------------------
// Nothing passes between the test cases of one job
// ---------------------------------------------------------------------------------------------------------------

/** A Nim program whose compile step runs `shell` (staticExec) in the workspace, then prints `program`'s output. */
const nimMaking = (shell: string, program: string[]) => lines(
  'import os, strutils',
  `const made = staticExec(${JSON.stringify(shell)})`,
  ...program,
);

export const caseIsolation: Attack[] = [
  single('a tree deeper than 128 levels in the workspace, seen by the next case (the issue\'s reproducer)',
    () => ({
      language: 'python',
      testCases: [{ stdin: '1' }, { stdin: '2' }, { stdin: '3' }],
      code: lines(
        'import os,sys',
        'deep="/workspace/"+"/".join(["d"]*130)',
        'print(sorted(os.listdir(deep)) if os.path.isdir(deep) else None)',
        'os.makedirs(deep,exist_ok=True); open(deep+"/case-"+sys.stdin.read().strip(),"w").write("x")'),
    }),
    (r) => {
      expect(statuses(r)).toEqual(['accepted', 'accepted', 'accepted']);
      expect(r.testCases!.map((c) => c.stdout)).toEqual(['None\n', 'None\n', 'None\n']);
    }),

  single('memory parked in a deep file by one case to shrink the next one\'s baseline',
    () => ({
      language: 'python', memoryLimitMb: 256, timeLimitMs: 5000,
      testCases: [{ stdin: '1' }, { stdin: '2' }],
      code: lines(
        'import os, sys',
        'deep = "/workspace/" + "/".join(["d"] * 130)',
        'if sys.stdin.read().strip() == "1":',
        '    os.makedirs(deep, exist_ok=True)',
        '    for part in ("a", "b"):  # 60 MB in all, each file within the 32 MB file size limit',
        '        with open(deep + "/ballast-" + part, "wb") as f: f.write(b"x" * (30 << 20))',
        '    print("left")',
        'else:',
        '    found = os.path.isdir(deep)',
        '    for name in os.listdir(deep) if found else []: os.remove(deep + "/" + name)',
        '    hold = bytearray(290 << 20)',
        '    print("found" if found else "clean")'),
    }),
    (r) => {
      expect(r.testCases![0]).toMatchObject({ status: 'accepted', stdout: 'left\n' });
      // 290 MB held with nothing to delete: over the 256 MB limit, however the earlier case played.
      expect(r.testCases![1]).toMatchObject({ status: 'memory_limit_exceeded' });
      expect(r.testCases![1].memoryKb).toBeGreaterThan(256 * 1024);
    }),

  single('trees 2,500 levels deep in /tmp, /workspace and /dev/shm, world-writable and with a mode-0 bottom',
    () => ({
      language: 'python', timeLimitMs: 5000,
      testCases: [{ stdin: '1' }, { stdin: '2' }, { stdin: '3' }],
      code: lines(
        'import os, sys',
        'case = sys.stdin.read().strip()',
        'seen = []',
        'for base in ("/tmp", "/workspace", "/dev/shm"):',
        '    seen.append(sorted(n for n in os.listdir(base) if not n.startswith("runner-")))',
        '    os.chdir(base)',
        '    for _ in range(2500):',
        '        os.mkdir("a", 0o777); os.chdir("a")',
        '    open("planted-" + case, "w").write(case)',
        '    os.mkfifo("fifo"); os.symlink("/etc/passwd", "link")',
        '    os.chmod(".", 0)',
        'print(seen)'),
    }),
    (r) => {
      expect(statuses(r)).toEqual(['accepted', 'accepted', 'accepted']);
      for (const c of r.testCases!) expect(c.stdout).toBe("[[], ['main.py'], []]\n");
    }),

  single('a world-writable directory and file made by the compile step (Nim staticExec), written by each case',
    () => ({
      language: 'nim', timeLimitMs: 2000,
      testCases: [{ stdin: '1' }, { stdin: '2' }, { stdin: '3' }],
      code: nimMaking('mkdir -m 777 shared && touch shared/seed && chmod 666 shared/seed && echo made', [
        'let tag = stdin.readAll().strip()',
        'var wrote = "denied"',
        'try:',
        '  writeFile("/workspace/shared/planted-" & tag, "x")',
        '  wrote = "wrote"',
        'except IOError, OSError: discard',
        'var appended = "denied"',
        'try:',
        '  let f = open("/workspace/shared/seed", fmAppend)',
        '  f.write(tag)',
        '  f.close()',
        '  appended = "appended"',
        'except IOError, OSError: discard',
        'var names: seq[string]',
        'for kind, path in walkDir("/workspace/shared"): names.add(extractFilename(path))',
        'echo made, " ", wrote, " ", appended, " ", names.join(","), " seed=", readFile("/workspace/shared/seed").len',
      ]),
    }),
    (r) => {
      expect(statuses(r)).toEqual(['accepted', 'accepted', 'accepted']);
      for (const c of r.testCases!) expect(c.stdout).toBe('made denied denied seed seed=0\n');
    }),

  // The 16,000 files of 250-character names made every case boundary cost 2.6 s of root's CPU.
  single(`a compile step leaving 16,000 files (over the cap of ${MAX_COMPILED_ENTRIES})`,
    () => ({
      language: 'nim',
      code: nimMaking(`mkdir many && cd many && seq 16000 | sed 's/$/${'x'.repeat(240)}/' | xargs touch && echo made`, ['echo made']),
    }),
    (r) => {
      expect(r.status).toBe('compile_error');
      expect(r.message).toBe(`the compile step left more than ${MAX_COMPILED_ENTRIES} files and directories in the workspace`);
    }, 120_000),

  single(`a compile step leaving directories ${MAX_COMPILED_DEPTH + 6} levels deep (over the cap of ${MAX_COMPILED_DEPTH})`,
    () => ({
      language: 'nim',
      code: nimMaking(`mkdir -p ${'d/'.repeat(MAX_COMPILED_DEPTH + 6)} && echo made`, ['echo made']),
    }),
    (r) => {
      expect(r.status).toBe('compile_error');
      expect(r.message).toBe(`the compile step left directories nested deeper than ${MAX_COMPILED_DEPTH} levels in the workspace`);
    }, 120_000),

  {
    name: '64 cases of 1 ms CPU after a compile step left 4,000 files of 250-character names',
    timeoutMs: 180_000,
    async run(ctx) {
      const started = Date.now();
      const r = await ctx.run({
        language: 'nim', timeLimitMs: 1,
        testCases: Array.from({ length: 64 }, (_, i) => ({ stdin: String(i) })),
        code: nimMaking(`mkdir many && cd many && seq 4000 | sed 's/$/${'x'.repeat(240)}/' | xargs touch && echo made`, ['echo made']),
      });
      const seconds = (Date.now() - started) / 1000;
      const verdict = `${short(r.status)} in ${Math.round(seconds)} s`;
      checked(verdict, [r], () => {
        expect(r.testCases).toHaveLength(64);
        for (const c of r.testCases!) expect(['accepted', 'time_limit_exceeded']).toContain(c.status);
        // 64 resets of a 4,000-entry workspace: linear work, a few ms each, not seconds.
        expect(seconds).toBeLessThan(60);
      });
      return { outcomes: [r], verdict };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// A job's own failures are its verdicts, on the first delivery
// ---------------------------------------------------------------------------------------------------------------

/** A Nim program linked to name `loader` as its ELF interpreter: the kernel refuses to execute it. */
const unexecutable = (loader: string) => ({
  language: 'nim',
  code: lines(`{.passL: "-Wl,--dynamic-linker=${loader}".}`, 'echo "started"'),
});

export const blame: Attack[] = [
  single('a program whose ELF names a missing dynamic loader (ENOENT at exec)',
    () => unexecutable('/nonexistent/ld.so'),
    (r) => expect(r).toMatchObject({ status: 'runtime_error', message: 'could not start the program: No such file or directory', stdout: '' }),
    120_000),

  single('a program whose ELF names a file that is not executable as its loader (EACCES at exec)',
    () => unexecutable('/etc/passwd'),
    (r) => expect(r).toMatchObject({ status: 'runtime_error', message: 'could not start the program: Permission denied', stdout: '' }),
    120_000),
];

// ---------------------------------------------------------------------------------------------------------------
// Unix sockets a job holds can address nothing; nothing in the sandbox names the worker
// ---------------------------------------------------------------------------------------------------------------

/**
 * A unix datagram socket bound to an abstract name in this process's network namespace (the one a sidecar shares
 * with its task), counting what reaches it. Python: Node has no unix datagram sockets.
 */
async function datagramCanary(): Promise<{ name: string; received: () => string[]; stop: () => void }> {
  const name = `battery-dgram-${randomBytes(6).toString('hex')}`;
  const receiver = spawn('python3', ['-u', '-c', lines(
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind("\\0" + sys.argv[1])',
    'print("bound", flush=True)',
    'while True: print("got", s.recv(4096)[:40], flush=True)'), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out: string[] = [];
  await new Promise<void>((resolve, reject) => {
    receiver.once('error', reject);
    receiver.once('exit', (code) => reject(new Error(`the datagram canary exited (${code})`)));
    receiver.stdout.on('data', (chunk: Buffer) => {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      if (out.includes('bound')) resolve();
    });
  });
  return { name, received: () => out.filter((l) => l !== 'bound'), stop: () => receiver.kill('SIGKILL') };
}

/** The job: every way to address a unix socket from socketpair()s; prints `call=errno` (0: it worked). */
const SOCKET_CALLS = `
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
static struct sockaddr_un to;
static socklen_t to_len;
#define SHOW(name, call) printf("%s=%d\\n", name, (call) < 0 ? errno : 0)
static int pair(int type, int sv[2]) { return socketpair(AF_UNIX, type, 0, sv); }
int main(int argc, char **argv) {
  to.sun_family = AF_UNIX;
  memcpy(to.sun_path + 1, argv[1], strlen(argv[1]));
  to_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(argv[1]);
  struct msghdr msg = { 0 };
  struct iovec iov = { "m", 1 };
  msg.msg_name = &to; msg.msg_namelen = to_len; msg.msg_iov = &iov; msg.msg_iovlen = 1;
  struct sockaddr unspec = { .sa_family = AF_UNSPEC };
  int sv[2] = { -1, -1 };
  /* The issue's: a datagram pair, untied with connect(AF_UNSPEC), then sendto any address. */
  SHOW("dgram_pair", pair(SOCK_DGRAM, sv));
  SHOW("dgram_pair_cloexec", pair(SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, sv));
  int s[2];
  SHOW("stream_pair", pair(SOCK_STREAM, s));
  SHOW("connect_unspec", connect(s[0], &unspec, sizeof unspec));
  SHOW("connect_abstract", connect(s[0], (struct sockaddr *)&to, to_len));
  SHOW("bind_abstract", bind(s[0], (struct sockaddr *)&to, to_len));
  SHOW("listen", listen(s[0], 1));
  sendto(s[0], "s", 1, MSG_DONTWAIT, (struct sockaddr *)&to, to_len);
  sendmsg(s[0], &msg, MSG_DONTWAIT);
  int q[2];
  if (pair(SOCK_SEQPACKET, q) == 0) {
    sendto(q[0], "q", 1, MSG_DONTWAIT, (struct sockaddr *)&to, to_len);
    sendmsg(q[0], &msg, MSG_DONTWAIT);
    SHOW("seqpacket_bind", bind(q[0], (struct sockaddr *)&to, to_len));
  }
  SHOW("socket", socket(AF_UNIX, SOCK_DGRAM, 0));
  return 0;
}
`;

/** What the sandbox shows of itself that could name the worker or the deployment. */
const SELF_VIEW = lines(
  'for f in /proc/1/cmdline /proc/self/cgroup /proc/self/mountinfo /etc/hostname; do echo "== $f"; tr "\\0" " " < $f 2>/dev/null; echo; done',
  'echo "== hostname $(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"',
  'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done',
  'env');

export const sockets: Attack[] = [
  {
    name: 'unix datagram pairs, connect(AF_UNSPEC), bind, connect, sendto and sendmsg to an abstract name',
    async run(ctx: AttackContext) {
      const canary = await datagramCanary();
      let r: RunOutcome;
      try {
        r = await ctx.run({ language: 'c', code: SOCKET_CALLS, args: [canary.name] });
        // Give a datagram in flight its moment to arrive before the canary is read.
        await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        canary.stop();
      }
      const verdict = `${short(r.status)}: nothing reached`;
      checked(verdict, [r], () => {
        expect(r.status).toBe('accepted');
        const calls = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=')).map(([k, v]) => [k, Number(v)]));
        expect(calls).toEqual({
          dgram_pair: 1, dgram_pair_cloexec: 1, stream_pair: 0, connect_unspec: 1, connect_abstract: 1, bind_abstract: 1,
          listen: 1, seqpacket_bind: 1, socket: 13,
        });
        expect(canary.received()).toEqual([]);
      });
      return { outcomes: [r], verdict };
    },
  },

  single('the sandbox naming its worker or deployment (/proc/1/cmdline, cgroup, mounts, hostname, environment)',
    () => ({ language: 'bash', code: SELF_VIEW }),
    (r) => {
      expect(r.status).toBe('accepted');
      // Sandbox resources are named <deployment>~<worker>@<job> (core/sandboxOwner.ts); the battery's owner is this.
      expect(r.stdout).not.toMatch(/security-battery|~[^\s]*@|--name-prefix/);
    }),
];
