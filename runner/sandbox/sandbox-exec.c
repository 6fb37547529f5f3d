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
