/*
 * sandbox-executor: the runner image's entrypoint, where the container (or the pod) is the sandbox: its namespaces,
 * cgroup, read-only root and scratch volumes were made by the engine. It serves jobs as sandbox.h describes, runs
 * each step under a fresh uid, and no Node.js starts inside. Three ways, one per transport:
 *
 *   sandbox-executor --socket PATH   docker: one job on a unix socket in a directory the worker bind-mounts per
 *                                    container; the container ends with the job.
 *   sandbox-executor --serve DIR     sidecar (ECS/Fargate task, GKE pod): jobs one after another, each on its own
 *                                    connection to DIR/SIDECAR_SOCKET in the volume shared with the worker; between
 *                                    jobs every process of a job uid is killed and /workspace, /tmp and /dev/shm are
 *                                    emptied; a heartbeat in DIR says it is alive, ready and which languages it runs.
 *   sandbox-executor --batch FILE    kubernetes: one Job's pod; the request is FILE (its ConfigMap), the reports go to
 *                                    stdout as text lines (the pod log the worker reads).
 *
 * It starts as uid 0 with only CAP_SETUID and CAP_SETGID (the sidecar also holds CAP_DAC_OVERRIDE and CAP_FOWNER, to
 * empty what a job left whatever modes it set), so jobs are killed through a helper holding their uid.
 */
#define _GNU_SOURCE
#include "jobexec.h"
#include "sandbox.h"
#include "scratch.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Names in the sidecar's directory (core/protocol/sidecarExchange.ts). */
#define SIDECAR_SOCKET ".executor.sock"
#define HEARTBEAT_FILE ".sidecar-heartbeat"
#define LANGUAGES_FILE "/opt/runner/languages.json"
#define HEARTBEAT_MS 1000
#define RESET_RETRY_MS 5000

static const char *const SCRATCH[] = { "/workspace", "/tmp", "/dev/shm" };
#define SCRATCH_COUNT (sizeof SCRATCH / sizeof *SCRATCH)

static void open_counters(void) {
  struct stat st;
  if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) sandbox_open_counters("/sys/fs/cgroup", "/sys/fs/cgroup", 1);
  else sandbox_open_counters("/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpuacct", 0);
}

/* A unix socket listening at path, mode 0666 & ~mask; -1 (saying why) when it cannot be made. */
static int listen_at(const char *path, mode_t mask) {
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof addr.sun_path) {
    fprintf(stderr, "sandbox-executor: socket path too long: %s\n", path);
    return -1;
  }
  strcpy(addr.sun_path, path);
  unlink(path);
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old = umask(mask);
  /* The sidecar's backlog holds the connections that wait for the job before them (a worker's MAX_CONCURRENT_JOBS). */
  int bad = listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 128);
  umask(old);
  if (bad) {
    fprintf(stderr, "sandbox-executor: cannot listen on %s: %s\n", path, strerror(errno));
    return -1;
  }
  return listener;
}

/* Says ready and serves the job on sock, in a container that is the sandbox; the process ends with it. */
static void serve_job(int sock) __attribute__((noreturn));
static void serve_job(int sock) {
  sandbox_send_frame(sock, 'Y', NULL, 0);
  struct sandbox_config config = { .remount_scratch = 0, .kill_by_uid = 1 };
  sandbox_serve(sock, &config);
}

/* The job on a connection, in a child of its own that ends with it; the caller keeps serving (and the socket). */
static pid_t serve_connection(int sock, int listener) {
  pid_t child = fork();
  if (child != 0) return child;
  close(listener);
  /* Orphans of the job's steps come back to this process (sandbox.c waits for them), not to the server. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  serve_job(sock);
}

/*
 * No job may take ptys: every devpts instance draws from the host-wide kernel.pty.max. Where the runtime mounted one
 * (a sidecar's container, a pod), its ptmx node is made mode 0000: uid 0 owns it, so chmod needs no capability, and the
 * kernel enforces the mode on every job uid. A node bound from the host's /dev is the host's: refused, not changed.
 * NULL when closed; why not otherwise.
 */
static const char *close_pty_pool(void) {
  static const char *const nodes[] = { "/dev/pts/ptmx", "/dev/ptmx" };
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
    struct stat st;
    /* A link (/dev/ptmx -> pts/ptmx) opens the node it points to, which this loop closes itself. */
    if (lstat(nodes[i], &st) || !S_ISCHR(st.st_mode) || (st.st_mode & 07777) == 0) continue;
    FILE *mounts = fopen("/proc/self/mountinfo", "re");
    char line[4096], point[PATH_MAX];
    int bound = 0;
    while (mounts && !bound && fgets(line, sizeof line, mounts)) {
      bound = sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strcmp(point, nodes[i]) == 0;
    }
    if (mounts) fclose(mounts);
    if (bound) return "a ptmx node is bound from outside the sandbox (ptys are a host-wide pool); mount a private /dev instead";
    if (chmod(nodes[i], 0)) return "cannot make the ptmx node inaccessible (ptys are a host-wide pool); the executor must start as uid 0, its owner";
  }
  return NULL;
}

/* ---------- --socket: the docker transport's one job ---------- */

static int one_job(const char *path) {
  /* The executor socket's directory is 2770: the worker's uid and group only (dockerTransport.ts). */
  int listener = listen_at(path, 0117);
  if (listener < 0) return 125;
  int sock;
  while ((sock = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR) {}
  if (sock < 0) {
    fprintf(stderr, "sandbox-executor: accept: %s\n", strerror(errno));
    return 125;
  }
  close(listener);
  unlink(path);
  /* pid 1 of its container: it serves the job itself. */
  serve_job(sock);
}

/* ---------- --batch: a Kubernetes Job's pod ---------- */

static int batch_job(const char *file) {
  struct statvfs root;
  /* It empties /tmp between steps: only where the root is read-only, as in the pod. */
  if (statvfs("/", &root) || !(root.f_flag & ST_RDONLY)) {
    fprintf(stderr, "sandbox-executor: --batch empties /tmp and /workspace, so it runs only in a container with a read-only root filesystem\n");
    return 125;
  }
  const char *pty = close_pty_pool();
  if (pty) {
    fprintf(stderr, "sandbox-executor: %s\n", pty);
    return 125;
  }
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "sandbox-executor: cannot read the request %s: %s\n", file, strerror(errno));
    return 125;
  }
  /* emptyDir volumes are 0777: sticky like Docker's tmpfs, so a case cannot delete what the compile step made. */
  for (size_t i = 0; i < SCRATCH_COUNT; i++) chmod(SCRATCH[i], 01777);
  /* The request file holds what sandbox_serve reads from a socket: u32 length | request. */
  struct sandbox_config config = { .remount_scratch = 0, .kill_by_uid = 1, .batch = 1 };
  sandbox_serve(fd, &config);
}

/* ---------- --serve: the sidecar ---------- */

static const struct name_set NOTHING_KEPT = { (char *[]){ ".", ".." }, 2 };

/*
 * Every uid >= JOB_UID_MIN that holds a process now, real or effective (at most max of them); how many. From each
 * process's status, not its /proc directory's owner: a process that made itself non-dumpable shows as root's there.
 */
static int job_uids(uid_t *uids, int max) {
  DIR *proc = opendir("/proc");
  if (!proc) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(proc)) != NULL && n < max) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300], text[4096];
    snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t r = read(fd, text, sizeof text - 1);
    close(fd);
    if (r <= 0) continue;
    text[r] = 0;
    const char *line = strstr(text, "\nUid:");
    unsigned long real, effective;
    if (!line || sscanf(line, "\nUid: %lu %lu", &real, &effective) != 2) continue;
    uid_t uid = real >= JOB_UID_MIN ? (uid_t)real : (uid_t)effective;
    if (uid < JOB_UID_MIN) continue;
    int seen = 0;
    for (int i = 0; i < n && !seen; i++) seen = uids[i] == uid;
    if (!seen) uids[n++] = uid;
  }
  closedir(proc);
  return n;
}

static void reap_children(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

/*
 * Removes the entries of the shared directory a job uid made (it is 1770 from the start, but a volume may come
 * world-writable); how many it could not remove.
 */
static long sweep_planted(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  long left = 0;
  DIR *d = fdopendir(dup(fd));
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    struct stat st;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) || st.st_uid < JOB_UID_MIN) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        clear_tree(sub, (uid_t)-1, &NOTHING_KEPT);
        close(sub);
      }
      left += unlinkat(fd, e->d_name, AT_REMOVEDIR) != 0;
    } else {
      left += unlinkat(fd, e->d_name, 0) != 0;
    }
  }
  if (d) closedir(d);
  close(fd);
  return left;
}

/*
 * Nothing of the last job left: no process of a job uid (its zombies reaped: they come to this subreaper),
 * /workspace, /tmp and /dev/shm empty, nothing of a job uid in the shared directory. NULL when so; what is left
 * otherwise.
 */
static const char *reset_sandbox(const char *dir) {
  static char problem[128];
  uid_t uids[256];
  int n = 0;
  for (int round = 0; round < 50; round++) {
    reap_children();
    n = job_uids(uids, 256);
    if (n == 0) break;
    for (int i = 0; i < n; i++) kill_job_uid(uids[i], uids[i]);
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    nanosleep(&pause, NULL);
  }
  if (n) return "cleanup failed: processes of an earlier job survive every kill";
  for (size_t i = 0; i < SCRATCH_COUNT; i++) {
    int fd = open(SCRATCH[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      snprintf(problem, sizeof problem, "cleanup failed: cannot open %s", SCRATCH[i]);
      return problem;
    }
    long left = clear_tree(fd, (uid_t)-1, &NOTHING_KEPT);
    close(fd);
    if (left) {
      snprintf(problem, sizeof problem, "cleanup failed: %s still holds %ld entries", SCRATCH[i], left);
      return problem;
    }
  }
  long planted = sweep_planted(dir);
  if (planted) {
    snprintf(problem, sizeof problem, "cleanup failed: %ld entries a job made in the shared directory remain", planted);
    return problem;
  }
  return NULL;
}

/* The languages file's JSON, read once (the image's, measured when it was built); "{}" when there is none. */
static char *languages_json(void) {
  struct buf b = { 0 };
  int fd = open(LANGUAGES_FILE, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    fcntl(fd, F_SETFL, O_NONBLOCK);
    buf_read_available(fd, &b);
    close(fd);
  }
  if (b.len == 0) buf_put(&b, "{}", 2);
  buf_put(&b, "", 1);
  return b.p;
}

/* Text safe inside a JSON string (the reasons are ours: no quote or backslash, but be sure). */
static void put_json_text(struct buf *b, const char *text) {
  for (const char *p = text; *p; p++) {
    if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) buf_put(b, "?", 1);
    else buf_put(b, p, 1);
  }
}

/*
 * The shared directory's owner and group (the worker's uid, or the volume's group the worker is in): the socket and the
 * heartbeat are made as them (setfsuid, setfsgid) with no access for others, so no job uid reaches either even where
 * the directory itself is left open to all.
 */
static uid_t shared_uid;
static gid_t shared_gid;

static void as_shared_owner(int on) {
  setfsgid(on ? shared_gid : 0);
  setfsuid(on ? shared_uid : 0);
}

/* Rewrites the heartbeat (under a temporary name, then renamed): read by the worker and the startup probes. */
static void heartbeat(const char *dir, const char *languages, const char *problem) {
  char at[64], path[PATH_MAX], temporary[PATH_MAX + 32];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", gmtime(&now.tv_sec));
  struct buf b = { 0 };
  char head[160];
  snprintf(head, sizeof head, "{\"pid\":%d,\"at\":\"%s.%03ldZ\",\"engine\":\"sandbox-executor\",\"ready\":%s", getpid(), at, now.tv_nsec / 1000000, problem ? "false" : "true");
  buf_put(&b, head, strlen(head));
  if (problem) {
    buf_put(&b, ",\"problem\":\"", 12);
    put_json_text(&b, problem);
    buf_put(&b, "\"", 1);
  }
  buf_put(&b, ",\"languages\":", 13);
  buf_put(&b, languages, strlen(languages));
  buf_put(&b, "}\n", 2);
  snprintf(path, sizeof path, "%s/%s", dir, HEARTBEAT_FILE);
  snprintf(temporary, sizeof temporary, "%s.%d.tmp", path, getpid());
  as_shared_owner(1);
  int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd >= 0 && fchmod(fd, 0640) == 0 && write_all(fd, b.p, b.len) == 0 && close(fd) == 0) rename(temporary, path);
  else {
    if (fd >= 0) close(fd);
    unlink(temporary);
  }
  as_shared_owner(0);
  free(b.p);
}

static void log_not_ready(const char *problem) {
  fprintf(stderr, "{\"level\":\"error\",\"msg\":\"sidecar not ready: it takes no job until a cleanup succeeds\",\"reason\":\"%s\"}\n", problem);
}

/* Refuses anywhere but a container with a read-only root: it empties /tmp between jobs. */
static const char *not_a_sidecar_container(void) {
  struct statvfs root;
  const char *pty;
  if (getuid() != 0) return "it must run as uid 0 (with CAP_SETUID, CAP_SETGID, CAP_DAC_OVERRIDE and CAP_FOWNER, no other capability)";
  if (statvfs("/", &root) || !(root.f_flag & ST_RDONLY)) return "it empties /tmp and /workspace between jobs, so it runs only in a container with a read-only root filesystem";
  struct stat st;
  if (stat("/workspace", &st) || !S_ISDIR(st.st_mode)) return "/workspace is missing: mount a writable volume there";
  if ((pty = close_pty_pool()) != NULL) return pty;
  return NULL;
}

static int serve_jobs(const char *dir) {
  const char *refusal = not_a_sidecar_container();
  if (refusal) {
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"sidecar cannot start\",\"error\":\"sandbox-executor --serve: %s\"}\n", refusal);
    return 1;
  }
  /* Volumes are often created world-writable (an emptyDir is): only its owner and group (the worker's uid or
   * fsGroup) may enter, no job uid; sticky, so nobody removes or replaces another's entries. */
  struct stat shared;
  if (stat(dir, &shared) == 0) {
    shared_uid = shared.st_uid;
    shared_gid = shared.st_gid;
  }
  if (chmod(dir, 01770)) {
    fprintf(stderr, "{\"level\":\"error\",\"msg\":\"sidecar cannot start\",\"error\":\"cannot chmod %s: %s; mount the volume shared with the worker there\"}\n", dir, strerror(errno));
    return 1;
  }
  /* Sticky and world-writable like /tmp: the compile and run uids write here, neither removes what the other made. */
  chmod("/workspace", 01777);
  char path[PATH_MAX];
  /* An earlier sidecar's heartbeat may be root's: this one's are the directory owner's, who could not replace it. */
  snprintf(path, sizeof path, "%s/%s", dir, HEARTBEAT_FILE);
  unlink(path);
  snprintf(path, sizeof path, "%s/%s", dir, SIDECAR_SOCKET);
  /* The socket is the directory owner's and group's, 0660: a job uid cannot connect even to an open directory. */
  as_shared_owner(1);
  int listener = listen_at(path, 0117);
  as_shared_owner(0);
  if (listener < 0) return 1;
  char *languages = languages_json();

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int sigfd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);

  /* The volumes may outlive an earlier sidecar with whatever its last job left: ready once that is gone. */
  const char *problem = reset_sandbox(dir);
  if (problem) log_not_ready(problem);
  long long last_beat = 0, last_reset = now_ms(), job_started = 0;
  pid_t job = 0;
  /* The job's connection, kept to see the worker hang up (its deadline, its shutdown, its death): the job is then
   * killed, whatever state it is in, so the next can start. */
  int job_sock = -1;
  int stopping = 0, announced = 0;
  for (;;) {
    long long now = now_ms();
    if (!job && problem && !stopping && now - last_reset >= RESET_RETRY_MS) {
      problem = reset_sandbox(dir);
      last_reset = now;
      if (!problem) fprintf(stderr, "{\"level\":\"info\",\"msg\":\"sidecar ready again: a cleanup succeeded\"}\n");
    }
    if (now - last_beat >= HEARTBEAT_MS) {
      heartbeat(dir, languages, problem);
      last_beat = now;
      if (!announced) {
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"sidecar started\",\"dir\":\"%s\",\"engine\":\"sandbox-executor\",\"ready\":%s}\n", dir, problem ? "false" : "true");
        announced = 1;
      }
    }
    if (stopping && !job) break;
    /* One job at a time: the container's cgroup then measures that job alone. Connections wait in the backlog. */
    int accepting = !job && !problem && !stopping;
    struct pollfd pfd[3] = { { sigfd, POLLIN, 0 }, { accepting ? listener : -1, POLLIN, 0 }, { job_sock, POLLRDHUP, 0 } };
    poll(pfd, 3, HEARTBEAT_MS);
    if (job && (pfd[2].revents & (POLLRDHUP | POLLHUP | POLLERR))) kill(job, SIGKILL);
    struct signalfd_siginfo info;
    while (read(sigfd, &info, sizeof info) == (ssize_t)sizeof info) {
      if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) stopping = 1;
    }
    if (job) {
      int st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == job) job = 0;
      }
      if (!job) {
        close(job_sock);
        job_sock = -1;
        /* Before the next job is taken: nothing of this one runs or remains. A failed cleanup keeps it from starting. */
        problem = reset_sandbox(dir);
        last_reset = now_ms();
        fprintf(stderr, "{\"level\":\"info\",\"msg\":\"job finished\",\"ms\":%lld}\n", last_reset - job_started);
        if (problem) log_not_ready(problem);
        heartbeat(dir, languages, problem);
        last_beat = now_ms();
      }
    } else {
      reap_children();
    }
    if (accepting && (pfd[1].revents & POLLIN)) {
      int sock = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
      if (sock >= 0) {
        job = serve_connection(sock, listener);
        if (job < 0) {
          job = 0;
          close(sock);
          fprintf(stderr, "{\"level\":\"error\",\"msg\":\"cannot fork for a job\",\"error\":\"%s\"}\n", strerror(errno));
        } else {
          job_sock = sock;
          job_started = now_ms();
          fprintf(stderr, "{\"level\":\"info\",\"msg\":\"job started\"}\n");
        }
      }
    }
  }
  close(listener);
  unlink(path);
  snprintf(path, sizeof path, "%s/%s", dir, HEARTBEAT_FILE);
  unlink(path);
  fprintf(stderr, "{\"level\":\"info\",\"msg\":\"sidecar stopped\",\"dir\":\"%s\"}\n", dir);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "--socket") && strcmp(argv[1], "--serve") && strcmp(argv[1], "--batch"))) {
    fprintf(stderr, "usage: sandbox-executor --socket PATH | --serve DIR | --batch FILE\n");
    return 125;
  }
  /* Orphans of the job come back to us (pid 1 of the container, or a subreaper elsewhere) to be reaped. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (strcmp(argv[1], "--serve") == 0) {
    sigaddset(&chld, SIGTERM);
    sigaddset(&chld, SIGINT);
  }
  sigprocmask(SIG_BLOCK, &chld, NULL);
  signal(SIGPIPE, SIG_IGN);
  open_counters();
  if (strcmp(argv[1], "--socket") == 0) return one_job(argv[2]);
  if (strcmp(argv[1], "--batch") == 0) return batch_job(argv[2]);
  return serve_jobs(argv[2]);
}
