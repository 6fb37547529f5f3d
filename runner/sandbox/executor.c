/*
 * sandbox-executor: the runner container's entrypoint for the docker transport. The container is the sandbox
 * (Docker made its namespaces, cgroup, read-only root and tmpfs); this program serves its one job (sandbox.h)
 * over a unix socket in a directory the worker bind-mounts per container, not over Docker's attach stream, and
 * no Node.js starts inside.
 *
 * usage: sandbox-executor --socket PATH
 *
 * It listens on PATH (mode 0660, in a directory only the worker's uid and group may enter, the group set on the
 * container for a worker that is not root, and given to the socket by the directory's setgid bit; the job's steps
 * have no supplementary group), takes the first connection, removes PATH,
 * says ready and serves the job; the container ends with it. It starts as uid 0 with only CAP_SETUID and
 * CAP_SETGID, so jobs are killed through a helper holding their uid and scratch is wiped as the job's uid.
 */
#define _GNU_SOURCE
#include "sandbox.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3 || strcmp(argv[1], "--socket") != 0) {
    fprintf(stderr, "usage: sandbox-executor --socket PATH\n");
    return 125;
  }
  const char *path = argv[2];
  /* Orphans of the job come back to us (pid 1 of the container, or a subreaper elsewhere) to be reaped. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct stat st;
  int v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;
  if (v2) sandbox_open_counters("/sys/fs/cgroup", "/sys/fs/cgroup", 1);
  else sandbox_open_counters("/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpuacct", 0);

  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof addr.sun_path) {
    fprintf(stderr, "sandbox-executor: socket path too long\n");
    return 125;
  }
  strcpy(addr.sun_path, path);
  unlink(path);
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old = umask(0117);
  if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 1)) {
    fprintf(stderr, "sandbox-executor: cannot listen on %s: %s\n", path, strerror(errno));
    return 125;
  }
  umask(old);
  int sock;
  while ((sock = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR) {}
  if (sock < 0) {
    fprintf(stderr, "sandbox-executor: accept: %s\n", strerror(errno));
    return 125;
  }
  close(listener);
  unlink(path);
  sandbox_send_frame(sock, 'Y', NULL, 0);
  struct sandbox_config config = { .remount_scratch = 0, .kill_by_uid = 1 };
  sandbox_serve(sock, &config);
}
