// Jobs that go after kernel resources with one host-wide limit (issue 10, finding 3), and what the host shows of
// them, shared by the worker-level tests (hostWideLimits.test.ts) and the battery (attacks.ts). Each program
// keeps trying for a while, so that the host can be watched (and another job run) while it does.
import { readFileSync } from 'node:fs';
import type { JobSpec } from './attacks.js';

/** Kernel AIO contexts in use on the host (fs.aio-nr; fs.aio-max-nr is the host-wide limit). */
export const aioInUse = () => Number(readFileSync('/proc/sys/fs/aio-nr', 'utf8'));
/** Ptys in use on the host, over every devpts instance (kernel.pty.max is the host-wide limit). */
export const ptysInUse = () => Number(readFileSync('/proc/sys/kernel/pty/nr', 'utf8'));

/** How long each program below keeps trying (ms). */
const ATTACK_MS = 1500;

/**
 * The reproducer: io_setup(4096) in a loop, for ATTACK_MS, holding every context it gets. Prints
 * `contexts=N errno=E` (the first failure's errno).
 */
export const ioSetupLoop = (): JobSpec => ({
  language: 'c',
  timeLimitMs: 5000,
  wallTimeLimitMs: 10_000,
  code: `
#include <errno.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static long long ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000LL + t.tv_nsec / 1000000; }
int main(void) {
  long contexts = 0; int first = 0;
  for (long long end = ms() + ${ATTACK_MS}; ms() < end;) {
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, 4096, &ctx) == 0) contexts++;
    else if (!first) first = errno;
    if (first) usleep(1000);
  }
  printf("contexts=%ld errno=%d\\n", contexts, first);
  return 0;
}
`,
});

/**
 * The rest of the AIO and io_uring calls, each on its own (with a context it could never have made):
 * prints `name=errno` for each.
 */
export const aioCalls = (): JobSpec => ({
  language: 'c',
  code: `
#include <errno.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#define TRY(name, ...) do { errno = 0; long r = syscall(__VA_ARGS__); printf("%s=%d%s", name, r == -1 ? errno : 0, " "); } while (0)
int main(void) {
  struct iocb cb; memset(&cb, 0, sizeof cb);
  struct iocb *list[1] = { &cb };
  struct io_event ev[1];
  unsigned char params[120]; memset(params, 0, sizeof params);
  TRY("io_submit", SYS_io_submit, (aio_context_t)1, 1L, list);
  TRY("io_getevents", SYS_io_getevents, (aio_context_t)1, 0L, 1L, ev, NULL);
  TRY("io_pgetevents", SYS_io_pgetevents, (aio_context_t)1, 0L, 1L, ev, NULL, NULL);
  TRY("io_cancel", SYS_io_cancel, (aio_context_t)1, &cb, ev);
  TRY("io_destroy", SYS_io_destroy, (aio_context_t)1);
  TRY("io_uring_setup", SYS_io_uring_setup, 8, params);
  printf("\\n");
  return 0;
}
`,
});

/**
 * The reproducer: 16 processes opening /dev/ptmx until it fails, holding what they got for ATTACK_MS.
 * Prints `opened=N errnos=[...]` (the distinct errnos that stopped them).
 */
export const ptmxFromSixteen = (): JobSpec => ({
  language: 'python',
  maxProcesses: 32,
  timeLimitMs: 5000,
  wallTimeLimitMs: 10_000,
  code: `
import os, time
r, w = os.pipe()
for _ in range(16):
    if os.fork() == 0:
        fds, err = [], 0
        for _ in range(250):
            try:
                fds.append(os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY))
            except OSError as e:
                err = e.errno
                break
        os.write(w, f'{len(fds)} {err}\\n'.encode())
        time.sleep(${ATTACK_MS / 1000})
        os._exit(0)
os.close(w)
reports = [line.split() for line in os.fdopen(r).read().split('\\n') if line]
for _ in range(16):
    os.wait()
print(f"opened={sum(int(n) for n, _ in reports)} errnos={sorted({int(e) for _, e in reports})}")
`,
});

/** The other ways to a pty: posix_openpt, openpty, the devpts instance's own ptmx. Prints `name=errno` for each. */
export const ptyOtherWays = (): JobSpec => ({
  language: 'c',
  code: `
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
  int m, s;
  errno = 0; printf("posix_openpt=%d ", posix_openpt(O_RDWR | O_NOCTTY) < 0 ? errno : 0);
  errno = 0; printf("openpty=%d ", openpty(&m, &s, NULL, NULL, NULL) < 0 ? errno : 0);
  errno = 0; printf("pts_ptmx=%d\\n", open("/dev/pts/ptmx", O_RDWR | O_NOCTTY) < 0 ? errno : 0);
  return 0;
}
`,
});

/**
 * The other host-wide pools the seccomp filter closes: huge pages (vm.nr_hugepages, charged to no memory cgroup)
 * and fanotify groups; an ordinary mapping and memfd still work. Prints `name=errno` for each (0: it worked).
 */
export const hugePagesAndFanotify = (): JobSpec => ({
  language: 'c',
  code: `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
int main(void) {
  errno = 0; printf("mmap_hugetlb=%d ", mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0) == MAP_FAILED ? errno : 0);
  errno = 0; printf("memfd_hugetlb=%d ", memfd_create("h", MFD_HUGETLB) < 0 ? errno : 0);
  errno = 0; printf("fanotify_init=%d ", fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY) < 0 ? errno : 0);
  errno = 0; printf("mmap=%d ", mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? errno : 0);
  errno = 0; printf("memfd=%d\\n", memfd_create("m", 0) < 0 ? errno : 0);
  return 0;
}
`,
});

/** `name=errno` pairs of a line the programs above print. */
export function errnosIn(stdout: string): Record<string, number> {
  return Object.fromEntries([...stdout.matchAll(/(\w+)=(\d+)/g)].map(([, k, v]) => [k, Number(v)]));
}

export const ENOENT = 2;
export const EPERM = 1;
export const EACCES = 13;
export const ENOSYS = 38;

/**
 * Finding 6: a job whose test cases look at /tmp and the workspace and, on the stdin `plant`, leave everything
 * they can there for the next case: files, a nested directory it then locks (mode 0000), a fifo, a file of mode
 * 0000, links to host files, to the workspace, to the runner's own directory and to the program itself. Each
 * case prints `tmp=[…] ws=[…] stdin=…` first, as it found them.
 */
export const leavesFilesForNextCase = (testCases: { stdin: string }[]): JobSpec => ({
  language: 'python',
  testCases,
  code: `
import os, sys
stdin = sys.stdin.read()
print(f"tmp={sorted(os.listdir('/tmp'))} ws={sorted(os.listdir('.'))} stdin={stdin}")
if stdin == 'plant':
    open('/tmp/x', 'w').write('left by an earlier case')
    open('left.txt', 'w').write('left in the workspace')
    os.makedirs('/tmp/d/e/f')
    open('/tmp/d/e/f/deep', 'w').write('deep')
    os.makedirs('sub/dir')
    os.chmod('/tmp/d/e', 0)
    os.chmod('/tmp/d', 0)
    os.mkfifo('/tmp/fifo')
    open('/tmp/locked', 'w').close()
    os.chmod('/tmp/locked', 0)
    os.symlink('/etc/passwd', '/tmp/passwd')
    os.symlink('/workspace', '/tmp/workspace-link')
    os.symlink(os.path.abspath('main.py'), '/tmp/program-link')
    for name in os.listdir('/tmp'):
        if name.startswith('runner-'):
            os.symlink('/tmp/' + name, '/tmp/private-link')
    os.symlink('/tmp', 'tmp-link')
    print('planted')
`,
});

/** Each case's `tmp=… ws=… stdin=…` line, parsed. */
export function scratchSeen(stdout: string): { tmp: string[]; ws: string[]; stdin: string } {
  const m = stdout.match(/^tmp=\[(.*?)\] ws=\[(.*?)\] stdin=(.*)$/m);
  if (!m) throw new Error(`no listing in ${JSON.stringify(stdout.slice(0, 300))}`);
  const names = (list: string) => [...list.matchAll(/'([^']*)'/g)].map(([, n]) => n);
  return { tmp: names(m[1]), ws: names(m[2]), stdin: m[3] };
}
