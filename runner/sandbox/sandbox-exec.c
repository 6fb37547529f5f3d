/*
 * sandbox-exec: start one untrusted command as an unprivileged uid under kernel-enforced rlimits, wait for
 * it and everything it spawned, and report what the kernel measured as one JSON object on a report fd. Also the
 * native half of the runner's and the sidecar's cleanup, which Node cannot do safely (see the modes below).
 *
 * Why native: dropping to another uid, setting rlimits between fork and exec, becoming a child subreaper
 * (so double-forked escapees are reparented to us and killed) and reading wait4/getrusage figures cannot be
 * done from Node. The runner (Node) keeps all policy: it decides limits and the verdict; this program only
 * enforces and measures.
 *
 * usage:
 *   sandbox-exec --uid N --gid N --cpu-ms N --wall-ms N --nproc N --fsize N --stack N --nofile N
 *                --report-fd N [--cwd DIR] [--env K=V]... [--wipe DIR]... [--lock-compiled] -- COMMAND [ARG]...
 *       Runs one step of a job (see above).
 *       --wipe DIR: once the job and everything it spawned are gone, remove what the job's uid owns under DIR
 *       (see wipe_job_files), so that the next command of the job finds DIR as it was before this one.
 *       --lock-compiled: the step was a compile step: once its processes are gone, lock what its uid made under the
 *       cwd (lock_compiled) so that no later uid can change it; the report's "workspace" says how that went.
 *       Signals: SIGTERM, SIGINT or SIGUSR1 sent to this process kill the whole job ("request"), which is how the
 *       runner stops a job that exceeded its output cap.
 *
 *   sandbox-exec [--kill-job-uids] [--clear DIR [--keep NAME]... [--job-owned]]...
 *       Cleanup, as the caller (root). --kill-job-uids kills every process of a job uid (>= JOB_UID_MIN) in sight
 *       until none is left alive: only in a container that runs one job at a time (the sidecar's), it refuses to
 *       run on a host. --clear DIR then empties DIR but the names given with --keep, or with --job-owned removes
 *       only its top-level entries a job uid owns, with clear_tree: no recursion, no path longer than a name, no
 *       depth bound, no link followed, nothing outside DIR touched. Prints one JSON line
 *       ({"jobProcessesLeft":N,"zombies":N,"dirs":[{"dir":...,"left":N}]}; left -1: DIR cannot be opened) and exits
 *       0 when nothing is left, 1 otherwise.
 *
 *   sandbox-exec --contain -- COMMAND [ARG]...
 *       Runs COMMAND (the Node runner) as a child subreaper, for a container that runs one job at a time. On
 *       SIGTERM, SIGINT or SIGUSR1 (the sidecar's deadline or output cap), and when COMMAND ends, every process of a
 *       job uid is killed and COMMAND's process group too, and every descendant is reaped before it exits: nothing
 *       of the job outlives it, not even as a zombie its container's init would never collect. Exits with COMMAND's
 *       status (128 + signal when it was killed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "jobexec.h"
#include "scratch.h"

#define MAX_ENV 64
#define MAX_WIPE 8

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
  int lock_compiled;
  char **argv;
};

static void die_usage(const char *why) {
  fprintf(stderr, "sandbox-exec: %s\n", why);
  exit(125);
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
    if (strcmp(a, "--lock-compiled") == 0) { o->lock_compiled = 1; continue; }
    if (i + 1 >= argc) die_usage("option without a value");
    const char *v = argv[++i];
    if (strcmp(a, "--uid") == 0) { o->uid = (uid_t)parse_count("sandbox-exec", a, v); have |= 1; }
    else if (strcmp(a, "--gid") == 0) { o->gid = (gid_t)parse_count("sandbox-exec", a, v); have |= 2; }
    else if (strcmp(a, "--cpu-ms") == 0) { o->cpu_ms = parse_count("sandbox-exec", a, v); have |= 4; }
    else if (strcmp(a, "--wall-ms") == 0) { o->wall_ms = parse_count("sandbox-exec", a, v); have |= 8; }
    else if (strcmp(a, "--nproc") == 0) { o->nproc = parse_count("sandbox-exec", a, v); have |= 16; }
    else if (strcmp(a, "--fsize") == 0) { o->fsize = parse_count("sandbox-exec", a, v); have |= 32; }
    else if (strcmp(a, "--stack") == 0) { o->stack = parse_count("sandbox-exec", a, v); have |= 64; }
    else if (strcmp(a, "--nofile") == 0) { o->nofile = parse_count("sandbox-exec", a, v); have |= 128; }
    else if (strcmp(a, "--report-fd") == 0) { o->report_fd = (int)parse_count("sandbox-exec", a, v); have |= 256; }
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
  if (o->lock_compiled && !o->cwd) die_usage("--lock-compiled needs --cwd (the workspace to lock)");
  o->argv = &argv[i];
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --wipe: what the job left in the given directories goes before the next command of the job runs (see
 * wipe_owned). Its CPU is added to `self_usage`, not to the job's. */
static void wipe_job_files(const struct options *o, struct rusage *self_usage) {
  long long us = wipe_owned(o->uid, o->gid, o->wipe, o->wipe_count);
  self_usage->ru_utime.tv_sec += us / 1000000;
  self_usage->ru_utime.tv_usec += us % 1000000;
}

static void child_exec(const struct options *o, int err_fd) {
  struct job_limits limits = { o->cpu_ms, o->nproc, o->fsize, o->stack, o->nofile };
  if (enter_job(&limits, o->uid, o->gid, o->cwd, err_fd) == 0) {
    char *envp[MAX_ENV + 1];
    for (int k = 0; k < o->env_count; k++) envp[k] = o->env[k];
    envp[o->env_count] = NULL;
    for (int k = 0; k < o->env_count; k++) {
      if (strncmp(o->env[k], "PATH=", 5) == 0) setenv("PATH", o->env[k] + 5, 1);
    }
    execvpe(o->argv[0], o->argv, envp);
  }
  int e = errno;
  ssize_t ignored = write(err_fd, &e, sizeof e);
  (void)ignored;
  _exit(127);
}

/* enum workspace_state by its name on the wire (core/protocol/launcherReport.ts: WORKSPACE_STATES). */
static const char *workspace_name(enum workspace_state state) {
  switch (state) {
    case WORKSPACE_LOCKED: return "ok";
    case WORKSPACE_TOO_MANY: return "too_many_entries";
    case WORKSPACE_TOO_DEEP: return "too_deep";
    case WORKSPACE_NOT_RESET: return "not_reset";
    default: return "lock_failed";
  }
}

/* ---------- every process of a job uid (--kill-job-uids, --contain) ---------- */

#define MAX_SEEN_UIDS 64

/* Processes of job uids in sight. */
struct job_processes {
  int alive;                 /* not yet dead */
  int zombies;               /* dead, not yet reaped by their parent */
  uid_t uids[MAX_SEEN_UIDS]; /* distinct uids of the live ones (the first MAX_SEEN_UIDS) */
  int uid_count;
};

/* The value after `key` (e.g. "\nUid:\t") in a /proc status text, or NULL. */
static const char *status_field(const char *text, const char *key) {
  const char *at = strstr(text, key);
  return at ? at + strlen(key) : NULL;
}

/* Lists /proc (this pid namespace: a container's own) for processes whose real uid is a job's. */
static void scan_job_processes(struct job_processes *seen) {
  memset(seen, 0, sizeof *seen);
  int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = proc >= 0 ? fdopendir(proc) : NULL;
  if (!d) {
    if (proc >= 0) close(proc);
    /* Nothing can be known: count one, so the caller fails rather than report a clean slate. */
    seen->alive = 1;
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300], text[4096];
    snprintf(path, sizeof path, "%s/status", e->d_name);
    int fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue; /* gone meanwhile */
    ssize_t n = read(fd, text + 1, sizeof text - 2);
    close(fd);
    if (n <= 0) continue;
    text[0] = '\n';
    text[n + 1] = '\0';
    const char *state = status_field(text, "\nState:\t");
    const char *uid_text = status_field(text, "\nUid:\t");
    if (!state || !uid_text) continue;
    uid_t uid = (uid_t)strtoul(uid_text, NULL, 10);
    if (uid < JOB_UID_MIN) continue;
    if (*state == 'Z' || *state == 'X') {
      seen->zombies++;
      continue;
    }
    seen->alive++;
    int known = 0;
    for (int i = 0; i < seen->uid_count; i++) known |= seen->uids[i] == uid;
    if (!known && seen->uid_count < MAX_SEEN_UIDS) seen->uids[seen->uid_count++] = uid;
  }
  closedir(d);
}

/* One round: every process of each job uid seen gets SIGKILL (kill_job_uid: no CAP_KILL needed, only SETUID). */
static void kill_seen(const struct job_processes *seen) {
  for (int i = 0; i < seen->uid_count; i++) kill_job_uid(seen->uids[i], (gid_t)seen->uids[i]);
}

static void pause_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
  nanosleep(&ts, NULL);
}

/* Killing every job uid in sight is for a container that runs one job at a time; on a host those are other jobs'.
 * The same test as runner/jobContainer.ts: a job container has a read-only root, a host's is writable by root. */
static void require_job_container(const char *mode) {
  if (access("/", W_OK) == 0) {
    fprintf(stderr, "sandbox-exec: %s kills every process of a job uid in sight: refused, the root filesystem is writable, so this is not a job container\n", mode);
    exit(125);
  }
}

/* Kills until no process of a job uid is alive, or gives up after `ms`; what is left is in `seen`. */
static void kill_job_processes(long long ms, struct job_processes *seen) {
  long long give_up = now_ms() + ms;
  for (;;) {
    scan_job_processes(seen);
    if (seen->alive == 0 || now_ms() > give_up) return;
    kill_seen(seen);
    /* A killed process is dead once the kernel has run its exit: give it that moment before looking again. */
    pause_ms(10);
  }
}

/* ---------- cleanup as the caller: --kill-job-uids, --clear ---------- */

#define MAX_CLEAR 8
#define MAX_KEEP 8192

struct clear_target {
  const char *dir;
  int job_owned; /* only the top-level entries a job uid owns */
  const char **keep;
  size_t keep_count;
};

static int by_string(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* JSON string of s (paths are ours, but a quote or a control byte must not break the line). */
static void print_json_string(const char *s) {
  putchar('"');
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') printf("\\%c", *c);
    else if (*c < 0x20) printf("\\u%04x", *c);
    else putchar(*c);
  }
  putchar('"');
}

/* Entries of the directory open at fd that should be gone: not kept, or (job_owned) still a job uid's. */
static long count_left(int fd, const struct clear_target *t, const struct name_set *keep) {
  int again = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = again >= 0 ? fdopendir(again) : NULL;
  if (!d) {
    if (again >= 0) close(again);
    return 1;
  }
  long left = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (name_set_has(keep, e->d_name)) continue;
    struct stat st;
    if (t->job_owned && (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid < JOB_UID_MIN)) continue;
    left++;
  }
  closedir(d);
  return left;
}

/* Clears one target; returns how many entries are left (checked on a listing of its own), -1 when DIR cannot be
 * opened (a missing DIR holds nothing: 0). */
static long clear_target(const struct clear_target *t) {
  int fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  /* "." and ".." are kept like the names given; name_set_has searches a sorted list. */
  char **names = malloc((t->keep_count + 2) * sizeof *names);
  if (!names) abort();
  names[0] = ".";
  names[1] = "..";
  for (size_t i = 0; i < t->keep_count; i++) names[i + 2] = (char *)t->keep[i];
  struct name_set keep = { names, t->keep_count + 2 };
  qsort(keep.items, keep.count, sizeof *keep.items, by_string);
  if (t->job_owned) {
    /* One pass per owner: clear_tree takes the top-level entries of one owner, and whatever they hold. */
    for (int pass = 0; pass < MAX_SEEN_UIDS; pass++) {
      int again = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      DIR *d = again >= 0 ? fdopendir(again) : NULL;
      if (!d) break;
      uid_t owner = (uid_t)-1;
      struct dirent *e;
      struct stat st;
      while (owner == (uid_t)-1 && (e = readdir(d)) != NULL) {
        if (!name_set_has(&keep, e->d_name) && fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid >= JOB_UID_MIN) owner = st.st_uid;
      }
      closedir(d);
      if (owner == (uid_t)-1) break;
      if (clear_tree(fd, owner, &keep) != 0) break;
    }
  } else {
    clear_tree(fd, (uid_t)-1, &keep);
  }
  long left = count_left(fd, t, &keep);
  free(names);
  close(fd);
  return left;
}

static int cleanup(int argc, char **argv) {
  struct clear_target targets[MAX_CLEAR];
  int count = 0, kill_first = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--kill-job-uids") == 0) { kill_first = 1; continue; }
    if (strcmp(a, "--job-owned") == 0) {
      if (!count) die_usage("--job-owned belongs to a --clear");
      targets[count - 1].job_owned = 1;
      continue;
    }
    if (i + 1 >= argc) die_usage("option without a value");
    const char *v = argv[++i];
    if (strcmp(a, "--clear") == 0) {
      if (count >= MAX_CLEAR) die_usage("too many --clear");
      if (v[0] != '/') die_usage("--clear needs an absolute path");
      targets[count++] = (struct clear_target){ v, 0, NULL, 0 };
    } else if (strcmp(a, "--keep") == 0) {
      if (!count) die_usage("--keep belongs to a --clear");
      struct clear_target *t = &targets[count - 1];
      if (t->keep_count >= MAX_KEEP) die_usage("too many --keep");
      if (!t->keep) t->keep = calloc(MAX_KEEP, sizeof *t->keep);
      if (!t->keep) abort();
      t->keep[t->keep_count++] = v;
    } else die_usage("unknown option");
  }
  if (!kill_first && !count) die_usage("nothing to do: --kill-job-uids and/or --clear DIR");
  if (kill_first) require_job_container("--kill-job-uids");
  /* Processes first: none of them may write into the directories while they are emptied. */
  struct job_processes seen = { 0 };
  if (kill_first) kill_job_processes(5000, &seen);
  int clean = seen.alive == 0;
  printf("{\"jobProcessesLeft\":%d,\"zombies\":%d,\"dirs\":[", seen.alive, seen.zombies);
  for (int k = 0; k < count; k++) {
    long left = clear_target(&targets[k]);
    clean &= left == 0;
    printf("%s{\"dir\":", k ? "," : "");
    print_json_string(targets[k].dir);
    printf(",\"left\":%ld}", left);
  }
  printf("]}\n");
  fflush(stdout);
  return clean ? 0 : 1;
}

/* Becomes a child subreaper and blocks the signals it then waits for (read from a signalfd or sigwait): SIGCHLD and
 * the ones that stop a job (SIGTERM, SIGINT, SIGUSR1), and SIGHUP too when asked. Returns that set. */
static sigset_t become_subreaper(int with_hup) {
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGUSR1);
  if (with_hup) sigaddset(&watched, SIGHUP);
  sigprocmask(SIG_BLOCK, &watched, NULL);
  return watched;
}

/* ---------- --contain: the runner under a subreaper ---------- */

static int contain(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) die_usage("usage: --contain -- COMMAND [ARG]...");
  require_job_container("--contain");
  /* Whatever the runner starts is reparented to us when its parent dies, never to the container's init. */
  sigset_t watched = become_subreaper(1);

  pid_t runner = fork();
  if (runner < 0) { perror("sandbox-exec: fork"); return 125; }
  if (runner == 0) {
    /* A group of its own: killing it never kills us. */
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[3], &argv[3]);
    perror("sandbox-exec: exec");
    _exit(127);
  }
  setpgid(runner, runner);

  int status = 0, runner_done = 0, stop_signal = 0;
  long long give_up = -1;
  for (;;) {
    pid_t p;
    int st;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      if (p == runner) { status = st; runner_done = 1; }
    }
    /* No child left: nothing the job started is alive (every process of it is our descendant until reaped). */
    if (p < 0 && errno == ECHILD) break;
    long wait_ms = 1000;
    if (runner_done || stop_signal) {
      /* The job is over: whatever of it still runs dies now. */
      if (give_up < 0) give_up = now_ms() + 5000;
      if (now_ms() > give_up) {
        fprintf(stderr, "{\"level\":\"error\",\"msg\":\"processes of the job outlived it\",\"component\":\"sandbox-exec\"}\n");
        break;
      }
      struct job_processes seen;
      scan_job_processes(&seen);
      kill_seen(&seen);
      kill(-runner, SIGKILL);
      wait_ms = 10;
    }
    struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000 };
    int sig = sigtimedwait(&watched, NULL, &ts);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGUSR1 || sig == SIGHUP) {
      if (!stop_signal) stop_signal = sig;
    }
  }
  if (stop_signal) return 128 + stop_signal;
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}

static int run_step(int argc, char **argv) {
  struct options o;
  parse_args(argc, argv, &o);
  if (fcntl(o.report_fd, F_GETFD) < 0) die_usage("--report-fd is not open");
  fcntl(o.report_fd, F_SETFD, FD_CLOEXEC);

  /* Orphans of the job are reparented to us, so none escapes accounting or the final kill. */
  sigset_t watched = become_subreaper(0);

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
    if (p < 0) leftover = -1; /* no child left: leftover says so below */
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

  /* After the figures above: the lock and the wipe run in helpers, whose usage is not the job's. A process of the
   * compile step still alive (the bounded wait above gave up) could undo the lock: then the lock failed. */
  enum workspace_state workspace = WORKSPACE_LOCKED;
  if (o.lock_compiled) workspace = leftover == 0 ? WORKSPACE_LOCK_FAILED : lock_compiled(o.uid, o.gid, o.cwd);

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
          "\"execError\":%s,\"selfCpuMs\":%lld,\"workspace\":\"%s\"}\n",
          exit_code, signal_name, cpu_ms, wall, max_rss, killed, exec_err, self_cpu_ms, workspace_name(workspace));
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--contain") == 0) return contain(argc, argv);
  if (argc > 1 && (strcmp(argv[1], "--clear") == 0 || strcmp(argv[1], "--kill-job-uids") == 0)) return cleanup(argc, argv);
  return run_step(argc, argv);
}
