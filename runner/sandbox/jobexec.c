/* See jobexec.h. */
#define _GNU_SOURCE
#include "jobexec.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

uid_t random_job_uid(void) {
  uint32_t r = 0;
  while (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {}
  return (uid_t)(JOB_UID_MIN + r % (1000000000u - JOB_UID_MIN));
}

/* The killer's real and saved uid: no job holds it (job uids are >= 100000), so no job may signal the killer,
 * while its effective uid (the job's) lets it signal every process of the job. */
#define KILLER_UID 99999

/* Kill every process owned by the job's uid: a helper whose effective uid is the job's may signal exactly
 * those processes (kill(-1) skips the caller), which reaches setsid'd and double-forked escapees without
 * CAP_KILL. Its real and saved uid are KILLER_UID, so the job cannot stop or kill it in turn. Repeated
 * because a fork bomb may still be mid-fork. */
void kill_job_uid(uid_t uid, gid_t gid) {
  for (int round = 0; round < 3; round++) {
    pid_t killer = fork();
    if (killer == 0) {
      alarm(2);
      if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(KILLER_UID, uid, KILLER_UID)) _exit(1);
      kill(-1, SIGKILL);
      _exit(0);
    }
    if (killer > 0) {
      int st;
      while (waitpid(killer, &st, 0) < 0 && errno == EINTR) {}
    }
  }
}

long long parse_count(const char *program, const char *option, const char *value) {
  char *end = NULL;
  errno = 0;
  long long n = strtoll(value, &end, 10);
  if (errno || !end || *end || n < 0) {
    fprintf(stderr, "%s: %s needs a non-negative integer, got '%s'\n", program, option, value);
    exit(125);
  }
  return n;
}

static int set_limit(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit rl = { soft, hard };
  return setrlimit(resource, &rl);
}

/* Syscalls a job never needs and that open kernel attack surface or outlive the job: namespaces (a user
 * namespace gives "root" over fresh mount, net and pid namespaces), kernel keyrings (kept per uid after the
 * job ends), IPC objects, mounts, BPF, perf, userfaultfd, io_uring, kernel AIO and huge pages (host-wide pools),
 * fanotify, modules, socket(), datagram socket pairs, bind, connect and listen. clone3 answers ENOSYS so libc falls back to clone, whose flags a classic filter can inspect. */
#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
/* As if the kernel had no such call: callers with a fallback (libaio users, liburing) take it. */
#define ABSENT(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

int install_job_seccomp(void) {
#ifdef SANDBOX_AUDIT_ARCH
  const unsigned long ns_flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                                 CLONE_NEWUTS | CLONE_NEWCGROUP;
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
    /* x32 syscalls would bypass the numbers below. */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    DENY(__NR_unshare), DENY(__NR_setns), DENY(__NR_mount), DENY(__NR_umount2), DENY(__NR_pivot_root),
    DENY(__NR_add_key), DENY(__NR_request_key), DENY(__NR_keyctl), DENY(__NR_bpf), DENY(__NR_perf_event_open),
    DENY(__NR_userfaultfd), DENY(__NR_io_uring_setup), DENY(__NR_io_uring_enter), DENY(__NR_io_uring_register),
    DENY(__NR_init_module), DENY(__NR_finit_module), DENY(__NR_delete_module), DENY(__NR_kexec_load),
    DENY(__NR_open_by_handle_at), DENY(__NR_name_to_handle_at), DENY(__NR_fsopen), DENY(__NR_fsmount),
    DENY(__NR_move_mount), DENY(__NR_open_tree),
    /* System V and POSIX IPC objects outlive the processes that made them: memory no job should leave. */
    DENY(__NR_msgget), DENY(__NR_semget), DENY(__NR_shmget), DENY(__NR_mq_open),
    /* Kernel AIO contexts count against one host-wide limit (fs.aio-max-nr, /proc/sys/fs/aio-nr): a job that
     * holds them all breaks io_setup for every other process on the host. */
    ABSENT(__NR_io_setup), ABSENT(__NR_io_destroy), ABSENT(__NR_io_submit), ABSENT(__NR_io_cancel),
    ABSENT(__NR_io_getevents), ABSENT(__NR_io_pgetevents),
    /* fanotify groups and marks: no job watches the file system (unprivileged fanotify exists since Linux 5.13). */
    DENY(__NR_fanotify_init), DENY(__NR_fanotify_mark),
    /* No socket() at all, of any family: where the sandbox shares a network namespace (the sidecar shares its
     * task's) this keeps the job off Redis, the metadata endpoint, the internet and the abstract unix sockets
     * of that namespace; elsewhere it backs up the namespace. socketpair() stays for streams: runtimes use it
     * internally (multiprocessing, libuv, the BEAM), and such a pair reaches nothing outside the job. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
    /* A pair of stream or seqpacket sockets stays connected to each other and ignores any address it is sent to.
     * A datagram pair does not: connect(AF_UNSPEC) unties it, then bind, connect and sendto/sendmsg reach any unix
     * address, abstract names included (those of a network namespace the sandbox shares: the sidecar's task). So no
     * datagram pair, and no bind, connect or listen at all: with socket() gone they have nothing legitimate to do. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socketpair, 0, 6),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_SEQPACKET, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    DENY(__NR_bind), DENY(__NR_connect), DENY(__NR_listen),
    /* Huge pages come from the host's pool (vm.nr_hugepages), which no memory cgroup charges: mmap with
     * MAP_HUGETLB and memfd_create with MFD_HUGETLB are refused (transparent huge pages are ordinary memory). */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 4),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_HUGETLB, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 0, 4),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MFD_HUGETLB, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    /* clone with any namespace flag (the flags are the first argument on x86_64 and aarch64). */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, ns_flags, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { (unsigned short)(sizeof filter / sizeof filter[0]), filter };
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
#error "sandbox-exec needs a seccomp filter for this architecture"
#endif
}

int enter_job(const struct job_limits *l, uid_t uid, gid_t gid, const char *cwd, int keep_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  setsid();

  rlim_t cpu_s = (rlim_t)((l->cpu_ms + 999) / 1000);
  if (cpu_s < 1) cpu_s = 1;
  if (set_limit(RLIMIT_CPU, cpu_s, cpu_s + 1) || set_limit(RLIMIT_NPROC, (rlim_t)l->nproc, (rlim_t)l->nproc) ||
      set_limit(RLIMIT_FSIZE, (rlim_t)l->fsize, (rlim_t)l->fsize) || set_limit(RLIMIT_STACK, (rlim_t)l->stack, (rlim_t)l->stack) ||
      set_limit(RLIMIT_NOFILE, (rlim_t)l->nofile, (rlim_t)l->nofile) || set_limit(RLIMIT_CORE, 0, 0) ||
      set_limit(RLIMIT_MEMLOCK, 0, 0) || set_limit(RLIMIT_MSGQUEUE, 0, 0))
    return -1;

  /* Under memory pressure the kernel must pick the job, never what reports on it. */
  int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj >= 0) {
    ssize_t ignored = write(adj, "1000", 4);
    (void)ignored;
    close(adj);
  }

  if (cwd && chdir(cwd) != 0) return -1;
  /* No capability can come back, whatever the job executes (where the caller may drop them: CAP_SETPCAP). Only those
   * still in the set: each drop makes new credentials, and reading is cheap; the kernel's last one ends the loop. */
  for (int cap = 0; cap <= 63; cap++) {
    int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (held < 0) break;
    if (held == 1) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) return -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  if (install_job_seccomp() != 0) return -1;
  /* The job must not outlive what watches it (the parent-death signal survives exec, not setuid: set after it). */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  /* Only stdin, stdout and stderr cross into the job: report channels and anything else stay behind, so the
   * job cannot write its own verdict. keep_fd is close-on-exec. */
  if (keep_fd > 3) syscall(SYS_close_range, 3, keep_fd - 1, 0);
  syscall(SYS_close_range, (keep_fd >= 3 ? keep_fd : 2) + 1, ~0U, 0);
  return 0;
}
