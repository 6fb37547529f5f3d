/*
 * sandbox-exec: start one untrusted command as an unprivileged uid under kernel-enforced rlimits, wait for
 * it and everything it spawned, and report what the kernel measured as one JSON object on a report fd.
 *
 * Why native: dropping to another uid, setting rlimits between fork and exec, becoming a child subreaper
 * (so double-forked escapees are reparented to us and killed) and reading wait4/getrusage figures cannot be
 * done from Node. The runner (Node) keeps all policy: it decides limits and the verdict; this program only
 * enforces and measures.
 *
 * usage: sandbox-exec --uid N --gid N --cpu-ms N --wall-ms N --nproc N --fsize N --stack N --nofile N
 *                     --report-fd N [--cwd DIR] [--env K=V]... [--wipe DIR]... -- COMMAND [ARG]...
 *
 * --wipe DIR: once the job and everything it spawned are gone, remove what the job's uid owns under DIR
 * (see wipe_job_files), so that the next command of the job finds DIR as it was before this one.
 *
 * Signals: SIGTERM, SIGINT or SIGUSR1 sent to this process kill the whole job ("request"), which is how the
 * runner stops a job that exceeded its output cap.
 */
#define _GNU_SOURCE
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
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 64
#define MAX_WIPE 8
/* The killer's real and saved uid: no job holds it (job uids are >= 100000), so no job may signal the killer,
 * while its effective uid (the job's) lets it signal every process of the job. */
#define KILLER_UID 99999

struct options {
  uid_t uid;
  gid_t gid;
  long long cpu_ms, wall_ms, nproc, fsize, stack, nofile;
  int report_fd;
  const char *cwd;
  char *env[MAX_ENV + 1];
  int env_count;
  const char *wipe[MAX_WIPE];
  int wipe_count;
  char **argv;
};

static void die_usage(const char *why) {
  fprintf(stderr, "sandbox-exec: %s\n", why);
  exit(125);
}

static long long parse_num(const char *name, const char *value) {
  char *end = NULL;
  errno = 0;
  long long n = strtoll(value, &end, 10);
  if (errno || !end || *end || n < 0) {
    fprintf(stderr, "sandbox-exec: %s needs a non-negative integer, got '%s'\n", name, value);
    exit(125);
  }
  return n;
}

static void parse_args(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  o->report_fd = -1;
  o->uid = (uid_t)-1;
  int have = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) { i++; break; }
    if (i + 1 >= argc) die_usage("option without a value");
    const char *v = argv[++i];
    if (strcmp(a, "--uid") == 0) { o->uid = (uid_t)parse_num(a, v); have |= 1; }
    else if (strcmp(a, "--gid") == 0) { o->gid = (gid_t)parse_num(a, v); have |= 2; }
    else if (strcmp(a, "--cpu-ms") == 0) { o->cpu_ms = parse_num(a, v); have |= 4; }
    else if (strcmp(a, "--wall-ms") == 0) { o->wall_ms = parse_num(a, v); have |= 8; }
    else if (strcmp(a, "--nproc") == 0) { o->nproc = parse_num(a, v); have |= 16; }
    else if (strcmp(a, "--fsize") == 0) { o->fsize = parse_num(a, v); have |= 32; }
    else if (strcmp(a, "--stack") == 0) { o->stack = parse_num(a, v); have |= 64; }
    else if (strcmp(a, "--nofile") == 0) { o->nofile = parse_num(a, v); have |= 128; }
    else if (strcmp(a, "--report-fd") == 0) { o->report_fd = (int)parse_num(a, v); have |= 256; }
    else if (strcmp(a, "--cwd") == 0) { o->cwd = v; }
    else if (strcmp(a, "--wipe") == 0) {
      if (o->wipe_count >= MAX_WIPE) die_usage("too many --wipe");
      if (v[0] != '/') die_usage("--wipe needs an absolute path");
      o->wipe[o->wipe_count++] = v;
    } else if (strcmp(a, "--env") == 0) {
      if (o->env_count >= MAX_ENV) die_usage("too many --env");
      o->env[o->env_count++] = (char *)v;
    } else die_usage("unknown option");
  }
  if (have != 511) die_usage("missing a required option");
  if (o->uid == 0 || o->gid == 0) die_usage("refusing to run user code as root");
  if (i >= argc) die_usage("no command");
  o->argv = &argv[i];
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_limit(int resource, rlim_t soft, rlim_t hard) {
  struct rlimit rl = { soft, hard };
  if (setrlimit(resource, &rl) != 0) _exit(126);
}

/* Kill every process owned by the job's uid: a helper whose effective uid is the job's may signal exactly
 * those processes (kill(-1) skips the caller), which reaches setsid'd and double-forked escapees without
 * CAP_KILL. Its real and saved uid are KILLER_UID, so the job cannot stop or kill it in turn. Repeated
 * because a fork bomb may still be mid-fork. */
static void kill_job_uid(uid_t uid, gid_t gid) {
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

/* Removes, under the directory open at dirfd, every entry the caller's uid owns (a directory of its own is
 * made searchable and emptied first: its owner may chmod it) and looks for more inside directories of others
 * it may enter. Never follows a link and never leaves the file system `dev`. Returns how many it removed. */
static long wipe_tree(int dirfd, dev_t dev, uid_t uid, int depth) {
  long removed = 0;
  if (depth > 128) return 0;
  int fd = dup(dirfd);
  if (fd < 0) return 0;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      if (st.st_uid == uid && unlinkat(dirfd, e->d_name, 0) == 0) removed++;
      continue;
    }
    if (st.st_dev != dev) continue;
    if (st.st_uid == uid) fchmodat(dirfd, e->d_name, 0700, 0);
    int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub >= 0) {
      struct stat opened;
      if (fstat(sub, &opened) == 0 && opened.st_dev == dev && opened.st_ino == st.st_ino) removed += wipe_tree(sub, dev, uid, depth + 1);
      close(sub);
    }
    if (st.st_uid == uid && unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0) removed++;
  }
  closedir(d);
  return removed;
}

/* --wipe: what the job left in the given directories goes before the next command of the job runs. Done as
 * the job's uid (fully, no way back to root) by a forked helper: it can remove exactly what the job could,
 * whatever modes the job set, and nothing else (the runner's files, what the compiler made, other jobs').
 * Its CPU is added to `self_usage`, not to the job's. */
static void wipe_job_files(const struct options *o, struct rusage *self_usage) {
  if (o->wipe_count == 0) return;
  pid_t wiper = fork();
  if (wiper == 0) {
    alarm(20);
    if (setgroups(0, NULL) || setresgid(o->gid, o->gid, o->gid) || setresuid(o->uid, o->uid, o->uid)) _exit(1);
    for (int i = 0; i < o->wipe_count; i++) {
      int root = open(o->wipe[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      struct stat st;
      if (root < 0) continue;
      /* Entries removed while a directory is read may hide others from that same read: go again while it removes. */
      if (fstat(root, &st) == 0) {
        for (int pass = 0; pass < 4 && wipe_tree(root, st.st_dev, o->uid, 0) > 0; pass++) {}
      }
      close(root);
    }
    _exit(0);
  }
  if (wiper < 0) return;
  int st;
  struct rusage ru;
  while (wait4(wiper, &st, 0, &ru) < 0 && errno == EINTR) {}
  self_usage->ru_utime.tv_sec += ru.ru_utime.tv_sec + ru.ru_stime.tv_sec;
  self_usage->ru_utime.tv_usec += ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Syscalls a job never needs and that open kernel attack surface or outlive the job: namespaces (a user
 * namespace gives "root" over fresh mount, net and pid namespaces), kernel keyrings (kept per uid after the
 * job ends), IPC objects, mounts, BPF, perf, userfaultfd, io_uring, kernel AIO and huge pages (host-wide pools),
 * fanotify, modules, and socket(). clone3 answers ENOSYS so libc falls back to clone, whose flags a classic filter can inspect. */
#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define DENY(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
/* As if the kernel had no such call: callers with a fallback (libaio users, liburing) take it. */
#define ABSENT(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

static int install_seccomp(void) {
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
     * of that namespace; elsewhere it backs up the namespace. socketpair() stays: runtimes use it internally,
     * and a connected pair reaches nothing outside the job. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
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

static void child_exec(const struct options *o, int err_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  setsid();

  rlim_t cpu_s = (rlim_t)((o->cpu_ms + 999) / 1000);
  if (cpu_s < 1) cpu_s = 1;
  set_limit(RLIMIT_CPU, cpu_s, cpu_s + 1);
  set_limit(RLIMIT_NPROC, (rlim_t)o->nproc, (rlim_t)o->nproc);
  set_limit(RLIMIT_FSIZE, (rlim_t)o->fsize, (rlim_t)o->fsize);
  set_limit(RLIMIT_STACK, (rlim_t)o->stack, (rlim_t)o->stack);
  set_limit(RLIMIT_NOFILE, (rlim_t)o->nofile, (rlim_t)o->nofile);
  set_limit(RLIMIT_CORE, 0, 0);
  set_limit(RLIMIT_MEMLOCK, 0, 0);
  set_limit(RLIMIT_MSGQUEUE, 0, 0);

  /* Under memory pressure the kernel must pick the job, never the runner that reports on it. */
  int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj >= 0) {
    ssize_t ignored = write(adj, "1000", 4);
    (void)ignored;
    close(adj);
  }

  if (o->cwd && chdir(o->cwd) != 0) goto fail;
  if (setgroups(0, NULL) || setresgid(o->gid, o->gid, o->gid) || setresuid(o->uid, o->uid, o->uid)) goto fail;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) goto fail;
  if (install_seccomp() != 0) goto fail;
  /* The job must not outlive us if the runner is killed (parent-death signal survives exec, not setuid,
   * hence set after it). */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  /* Only stdin, stdout and stderr cross into the job: the report fd and anything else the runner holds stay
   * behind, so the job cannot write its own verdict. err_fd is close-on-exec. */
  if (err_fd > 3) syscall(SYS_close_range, 3, err_fd - 1, 0);
  syscall(SYS_close_range, err_fd + 1, ~0U, 0);

  char *envp[MAX_ENV + 1];
  for (int k = 0; k < o->env_count; k++) envp[k] = o->env[k];
  envp[o->env_count] = NULL;
  for (int k = 0; k < o->env_count; k++) {
    if (strncmp(o->env[k], "PATH=", 5) == 0) setenv("PATH", o->env[k] + 5, 1);
  }
  execvpe(o->argv[0], o->argv, envp);
fail:;
  int e = errno;
  ssize_t ignored = write(err_fd, &e, sizeof e);
  (void)ignored;
  _exit(127);
}

static volatile sig_atomic_t stop_requested = 0;

int main(int argc, char **argv) {
  struct options o;
  parse_args(argc, argv, &o);
  if (fcntl(o.report_fd, F_GETFD) < 0) die_usage("--report-fd is not open");
  fcntl(o.report_fd, F_SETFD, FD_CLOEXEC);

  /* Orphans of the job are reparented to us, so none escapes accounting or the final kill. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGUSR1);
  sigprocmask(SIG_BLOCK, &watched, NULL);

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) { perror("sandbox-exec: pipe"); return 125; }

  long long started = now_ms();
  pid_t child = fork();
  if (child < 0) { perror("sandbox-exec: fork"); return 125; }
  if (child == 0) {
    close(errpipe[0]);
    child_exec(&o, errpipe[1]);
  }
  close(errpipe[1]);

  const char *killed_by = NULL;
  int status = 0;
  struct rusage main_usage;
  memset(&main_usage, 0, sizeof main_usage);
  int main_done = 0;
  long long deadline = started + o.wall_ms;

  while (!main_done) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      if (!killed_by) killed_by = "wall";
      kill_job_uid(o.uid, o.gid);
      kill(child, SIGKILL);
      left = 1000;
      deadline = now_ms() + 1000;
    }
    struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
    int sig = sigtimedwait(&watched, NULL, &ts);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGUSR1) {
      if (!killed_by) killed_by = "request";
      kill_job_uid(o.uid, o.gid);
      kill(child, SIGKILL);
    }
    /* Reap whatever finished: the main child ends the wait, reparented orphans are just collected. */
    for (;;) {
      int st;
      struct rusage ru;
      pid_t p = wait4(-1, &st, WNOHANG, &ru);
      if (p <= 0) break;
      if (p == child) { status = st; main_usage = ru; main_done = 1; }
    }
  }
  long long wall = now_ms() - started;

  /* Background processes (nohup, setsid, double fork) die with their job. Every process the job made is our
   * descendant until we reap it (orphans are reparented to us, the subreaper), so when we have no child left
   * there is nothing to kill, and the usual job ends without the killers' forks. The wait is bounded: a
   * report that comes late is still better than none. */
  int leftover;
  while ((leftover = waitpid(-1, &(int){0}, WNOHANG)) > 0) {}
  long long reap_deadline = now_ms() + 3000;
  while (leftover == 0) {
    kill_job_uid(o.uid, o.gid);
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {}
    if (p < 0 || now_ms() > reap_deadline) break;
    struct timespec pause = { 0, 20 * 1000000 };
    nanosleep(&pause, NULL);
  }

  int exec_errno = 0;
  ssize_t got = read(errpipe[0], &exec_errno, sizeof exec_errno);
  if (got != (ssize_t)sizeof exec_errno) exec_errno = 0;

  /* RUSAGE_CHILDREN covers every descendant we reaped: total CPU of the job, and the largest peak RSS. */
  struct rusage all;
  getrusage(RUSAGE_CHILDREN, &all);
  long long cpu_ms = (all.ru_utime.tv_sec + all.ru_stime.tv_sec) * 1000LL +
                     (all.ru_utime.tv_usec + all.ru_stime.tv_usec) / 1000;
  long max_rss = all.ru_maxrss > main_usage.ru_maxrss ? all.ru_maxrss : main_usage.ru_maxrss;

  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  wipe_job_files(&o, &self);
  long long self_cpu_ms = (self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1000LL +
                          (self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1000;

  char exit_code[16] = "null", signal_name[32] = "null", killed[16] = "null", exec_err[160] = "null";
  if (WIFEXITED(status)) snprintf(exit_code, sizeof exit_code, "%d", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char *abbrev = sigabbrev_np(WTERMSIG(status));
    snprintf(signal_name, sizeof signal_name, "\"SIG%s\"", abbrev ? abbrev : "UNKNOWN");
  }
  if (killed_by) snprintf(killed, sizeof killed, "\"%s\"", killed_by);
  if (exec_errno) snprintf(exec_err, sizeof exec_err, "\"%s\"", strerror(exec_errno));
  dprintf(o.report_fd,
          "{\"exitCode\":%s,\"signal\":%s,\"cpuMs\":%lld,\"wallMs\":%lld,\"maxRssKb\":%ld,\"killedBy\":%s,"
          "\"execError\":%s,\"selfCpuMs\":%lld}\n",
          exit_code, signal_name, cpu_ms, wall, max_rss, killed, exec_err, self_cpu_ms);
  return 0;
}
