/*
 * sandbox-supervisor: the process transport's trusted, long-lived half. Started once per worker (or sidecar),
 * it keeps sandboxes ready ahead of jobs and hands each job to one of them; no Node.js runs per job.
 *
 * A ready sandbox is one process, pid 1 of a fresh pid namespace, in fresh network, ipc, uts and cgroup namespaces
 * and its own freshly created cgroup (never reused), with a root of its own: a copy of one template mount namespace
 * built at start (read-only binds of the system directories it was told about, a read-only /dev of a few devices),
 * plus what is the sandbox's alone: a fresh /proc, its cgroup's counters (read-only), and tmpfs /workspace, /tmp and
 * /dev/shm (size- and inode-capped, charged to the job's memory cgroup, gone with the namespace).
 * It waits for one job, runs its steps (a compile step, then each case) under fresh uids with kernel limits
 * (sandbox.c, jobexec.c), reports each step, and exits; the supervisor removes its cgroup afterwards. Policy (the commands,
 * the limits, the verdict) is the worker's: this program enforces and measures.
 *
 * usage: sandbox-supervisor --ready N --name-prefix P --memory-bytes N --pids-max N --tmpfs-mb N --tmpfs-inodes N
 *          [--ro-bind SRC DST]... [--symlink TARGET DST]... [--dev NAME]...
 *
 * Wire (native byte order; both ends are on this host). Worker -> supervisor, on stdin:
 *   u32 len | u32 id | u8 type | payload[len - 5]
 *   'J' job:      u64 memory bytes | u32 pids max | u32 n, label[n] | request (sandbox.c: parse_request)
 *   'C' decision: u8 'c' to run the next step, anything else to end the job (after the last step's report the job
 *                 ends without one)
 *   'K' kill:     (none)
 * Supervisor -> worker, on stdout, the same header:
 *   'A' assigned: u8 1 when a ready sandbox took the job, 0 when one was prepared for it
 *   'R' step report (sandbox.c: run_step)    'F' refused: text
 *   'E' ended before the job did: i32 wait status | u32 OOM kills
 *   'Y' ready count: u32 (id 0)               'L' log line: JSON (id 0)
 * Frames are written together once this process has handled what woke it (each write wakes the worker). A frame the
 * supervisor cannot parse is refused ('F'), never run.
 */
#define _GNU_SOURCE
#include "jobexec.h"
#include "sandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (64u << 20)
#define MAX_SANDBOXES 256
#define MAX_MOUNTS 96
#define MAX_PENDING 256
#define ROOT_BASE "/run/code-execution/.sandbox-root"
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_PARENT "code-execution"


static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, strlen(text));
  int e = errno;
  close(fd);
  errno = e;
  return w == (ssize_t)strlen(text) ? 0 : -1;
}

/* ---------- options ---------- */

struct mount_spec {
  char kind; /* 'b' read-only bind, 's' symlink, 'd' device */
  const char *src, *dst;
};

static struct {
  int ready;
  const char *prefix;
  long long memory_bytes, pids_max, tmpfs_mb, tmpfs_inodes;
  struct mount_spec mounts[MAX_MOUNTS];
  int mount_count;
} opt;

static void usage(const char *why) {
  fprintf(stderr, "sandbox-supervisor: %s\n", why);
  exit(125);
}

static void parse_options(int argc, char **argv) {
  int have = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage("option without a value");
    const char *v = argv[++i];
    if (strcmp(a, "--ready") == 0) { opt.ready = (int)parse_count("sandbox-supervisor", a, v); have |= 1; }
    else if (strcmp(a, "--name-prefix") == 0) { opt.prefix = v; have |= 2; }
    else if (strcmp(a, "--memory-bytes") == 0) { opt.memory_bytes = parse_count("sandbox-supervisor", a, v); have |= 4; }
    else if (strcmp(a, "--pids-max") == 0) { opt.pids_max = parse_count("sandbox-supervisor", a, v); have |= 8; }
    else if (strcmp(a, "--tmpfs-mb") == 0) { opt.tmpfs_mb = parse_count("sandbox-supervisor", a, v); have |= 16; }
    else if (strcmp(a, "--tmpfs-inodes") == 0) { opt.tmpfs_inodes = parse_count("sandbox-supervisor", a, v); have |= 32; }
    else if (strcmp(a, "--ro-bind") == 0 || strcmp(a, "--symlink") == 0) {
      if (i + 1 >= argc) usage("--ro-bind and --symlink take two values");
      if (opt.mount_count >= MAX_MOUNTS) usage("too many mounts");
      const char *dst = argv[++i];
      if (dst[0] != '/' || strstr(dst, "..")) usage("a mount destination must be an absolute path without ..");
      opt.mounts[opt.mount_count++] = (struct mount_spec){ a[2] == 'r' ? 'b' : 's', v, dst };
    } else if (strcmp(a, "--dev") == 0) {
      if (opt.mount_count >= MAX_MOUNTS) usage("too many mounts");
      if (strchr(v, '/') || v[0] == '.') usage("--dev takes a device name in /dev");
      opt.mounts[opt.mount_count++] = (struct mount_spec){ 'd', v, v };
    } else usage("unknown option");
  }
  if (have != 63) usage("missing a required option");
  if (opt.ready > MAX_SANDBOXES / 2) usage("--ready is too large");
}

/*
 * Sandboxes are forked from this process, so their pid 1 would show its command line in /proc/1/cmdline: the name
 * prefix names the deployment and the worker. The options are copied, then the arguments' memory is blanked.
 */
static void hide_arguments(int argc, char **argv) {
  opt.prefix = strdup(opt.prefix);
  for (int i = 0; i < opt.mount_count; i++) {
    opt.mounts[i].src = strdup(opt.mounts[i].src);
    opt.mounts[i].dst = strdup(opt.mounts[i].dst);
    if (!opt.mounts[i].src || !opt.mounts[i].dst) usage("out of memory");
  }
  if (!opt.prefix) usage("out of memory");
  char *end = argv[argc - 1] + strlen(argv[argc - 1]);
  memset(argv[0], 0, (size_t)(end - argv[0]));
  snprintf(argv[0], (size_t)(end - argv[0]) + 1, "sandbox-supervisor");
}

/* ---------- cgroups (v1 and v2) ---------- */

static int cgroup_v2;
static const char *const V1_CONTROLLERS[] = { "memory", "pids", "cpu", "cpuacct" };
#define V1_COUNT 4

struct cgroup {
  char name[512];
  char dirs[V1_COUNT][PATH_MAX];
  int count;
  /* What its files say now, so that a job of the size it was made for writes nothing. */
  long long memory_bytes, pids_max;
};

/* v1: whether memory+swap is accounted (memory.memsw.*), looked up once. */
static int has_memsw;

/* v2: what a sandbox's limits need (its memory budget, its task count, its one CPU), enabled for children one by one. */
static const char *const V2_CONTROLLERS[] = { "memory", "pids", "cpu" };
#define V2_COUNT 3
/* Where the processes of a cgroup namespace's root are moved (cgroup_init_v2). */
#define CGROUP_LEAF "code-execution.leaf"

/* dir's cgroup.controllers, the controllers its parent lets it hand to its children, without the newline. */
static void cgroup_controllers(const char *dir, char *out, size_t size) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t r = fd >= 0 ? read(fd, out, size - 1) : -1;
  if (fd >= 0) close(fd);
  out[r > 0 ? r : 0] = 0;
  out[strcspn(out, "\n")] = 0;
}

/* Starting without the controllers would only fail every sandbox later, with less to say why. */
static void cgroup_fail(const char *what, const char *dir, const char *why) {
  char offered[256];
  cgroup_controllers(dir, offered, sizeof offered);
  fprintf(stderr, "sandbox-supervisor: cannot %s: %s (cgroup v2; %s offers: %s)\n", what, why, dir, offered[0] ? offered : "no controller");
  exit(125);
}

/* NULL when dir offers every V2 controller, else the first it does not. */
static const char *cgroup_missing(const char *dir) {
  char offered[256];
  cgroup_controllers(dir, offered, sizeof offered);
  int found[V2_COUNT] = { 0 };
  char *rest = NULL;
  for (char *word = strtok_r(offered, " ", &rest); word; word = strtok_r(NULL, " ", &rest)) {
    for (int i = 0; i < V2_COUNT; i++) found[i] |= strcmp(word, V2_CONTROLLERS[i]) == 0;
  }
  for (int i = 0; i < V2_COUNT; i++) {
    if (!found[i]) return V2_CONTROLLERS[i];
  }
  return NULL;
}

/* -1 with errno, and *failed naming the controller, at the first one dir cannot enable for its children. */
static int cgroup_enable(const char *dir, const char **failed) {
  char path[PATH_MAX + 32], op[32];
  snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
  for (int i = 0; i < V2_COUNT; i++) {
    snprintf(op, sizeof op, "+%s", V2_CONTROLLERS[i]);
    *failed = V2_CONTROLLERS[i];
    if (write_file(path, op)) return -1;
  }
  return 0;
}

/* Moves every process of the cgroup dir into leaf, in rounds: one that forks meanwhile leaves its child in dir. */
static int cgroup_move_processes(const char *dir, const char *leaf) {
  char from[PATH_MAX + 32], to[PATH_MAX + 32], pid_text[32];
  snprintf(from, sizeof from, "%s/cgroup.procs", dir);
  snprintf(to, sizeof to, "%s/cgroup.procs", leaf);
  if (mkdir(leaf, 0755) && errno != EEXIST) return -1;
  for (int round = 0; round < 32; round++) {
    FILE *procs = fopen(from, "re");
    if (!procs) return -1;
    int pid, seen = 0;
    while (fscanf(procs, "%d", &pid) == 1) {
      seen++;
      snprintf(pid_text, sizeof pid_text, "%d", pid);
      /* ESRCH: it exited meanwhile. */
      if (write_file(to, pid_text) && errno != ESRCH) {
        int e = errno;
        fclose(procs);
        errno = e;
        return -1;
      }
    }
    fclose(procs);
    if (!seen) return 0;
  }
  errno = EBUSY;
  return -1;
}

/*
 * Sandboxes' cgroups go in CGROUP_PARENT at the root of the hierarchy this process sees, and both that root and
 * CGROUP_PARENT must enable the controllers for their children. A host's root cgroup always may, wherever the
 * worker itself runs (in a systemd service's cgroup, the sandboxes are outside the service's, as on v1). But the
 * root seen from inside a cgroup namespace (a container's /sys/fs/cgroup) is an ordinary cgroup: while it holds
 * processes, as a container's root does, the kernel refuses (EBUSY, "no internal processes"). Those processes, the
 * worker and this one included, are moved into a leaf below that root, as container inits do: the container's own
 * limits, set on the root, still cover them. A few attempts, since a process may be started in the root meanwhile.
 */
static void cgroup_init_v2(void) {
  const char *failed = cgroup_missing(CGROUP_ROOT);
  char what[160];
  /* Checked first, so that nothing is moved when the controllers could not be enabled anyway. */
  if (failed) {
    snprintf(what, sizeof what, "use the %s controller", failed);
    cgroup_fail(what, CGROUP_ROOT, "not offered to this cgroup by its parent");
  }
  if (mkdir(CGROUP_ROOT "/" CGROUP_PARENT, 0755) && errno != EEXIST) cgroup_fail("create " CGROUP_ROOT "/" CGROUP_PARENT, CGROUP_ROOT, strerror(errno));
  int enabled = cgroup_enable(CGROUP_ROOT, &failed) == 0;
  for (int attempt = 0; !enabled && errno == EBUSY && attempt < 3; attempt++) {
    if (cgroup_move_processes(CGROUP_ROOT, CGROUP_ROOT "/" CGROUP_LEAF)) {
      cgroup_fail("move the processes of " CGROUP_ROOT " into " CGROUP_ROOT "/" CGROUP_LEAF " to enable controllers for its children", CGROUP_ROOT, strerror(errno));
    }
    enabled = cgroup_enable(CGROUP_ROOT, &failed) == 0;
  }
  if (!enabled) {
    snprintf(what, sizeof what, "enable the %s controller for the children of " CGROUP_ROOT, failed);
    cgroup_fail(what, CGROUP_ROOT, strerror(errno));
  }
  if (cgroup_enable(CGROUP_ROOT "/" CGROUP_PARENT, &failed)) {
    snprintf(what, sizeof what, "enable the %s controller for the children of " CGROUP_ROOT "/" CGROUP_PARENT, failed);
    cgroup_fail(what, CGROUP_ROOT "/" CGROUP_PARENT, strerror(errno));
  }
}

static void cgroup_init(void) {
  struct stat st;
  cgroup_v2 = stat(CGROUP_ROOT "/cgroup.controllers", &st) == 0;
  if (cgroup_v2) {
    cgroup_init_v2();
  } else {
    char path[PATH_MAX];
    for (int i = 0; i < V1_COUNT; i++) {
      snprintf(path, sizeof path, CGROUP_ROOT "/%s/" CGROUP_PARENT, V1_CONTROLLERS[i]);
      mkdir(path, 0755);
    }
    /* A new memory cgroup starts with its parent's swappiness: set once here, not per sandbox. */
    write_file(CGROUP_ROOT "/memory/" CGROUP_PARENT "/memory.swappiness", "0");
    has_memsw = access(CGROUP_ROOT "/memory/" CGROUP_PARENT "/memory.memsw.limit_in_bytes", F_OK) == 0;
  }
}

static int cgroup_write(const struct cgroup *cg, int index, const char *file, const char *value) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", cg->dirs[index], file);
  return write_file(path, value);
}

static int cgroup_read(const struct cgroup *cg, int index, const char *file, char *out, size_t size) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", cg->dirs[index], file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t r = read(fd, out, size - 1);
  close(fd);
  if (r < 0) return -1;
  out[r] = 0;
  return 0;
}

/* memory+swap may never be below memory: memory first when shrinking, memory+swap first when growing. Only what
 * differs from the cgroup's current budget is written. */
static int cgroup_set_budget(struct cgroup *cg, long long memory_bytes, long long pids_max) {
  char value[32];
  if (memory_bytes != cg->memory_bytes) {
    snprintf(value, sizeof value, "%lld", memory_bytes);
    if (cgroup_v2) {
      if (cgroup_write(cg, 0, "memory.max", value)) return -1;
    } else {
      /* A new cgroup's limits are unlimited (-1 here): the first budget shrinks them. */
      int growing = cg->memory_bytes >= 0 && memory_bytes > cg->memory_bytes;
      if (growing && has_memsw && cgroup_write(cg, 0, "memory.memsw.limit_in_bytes", value)) return -1;
      if (cgroup_write(cg, 0, "memory.limit_in_bytes", value)) return -1;
      if (!growing && has_memsw && cgroup_write(cg, 0, "memory.memsw.limit_in_bytes", value)) return -1;
    }
    cg->memory_bytes = memory_bytes;
  }
  if (pids_max != cg->pids_max) {
    snprintf(value, sizeof value, "%lld", pids_max);
    if (cgroup_write(cg, cgroup_v2 ? 0 : 1, "pids.max", value)) return -1;
    cg->pids_max = pids_max;
  }
  return 0;
}

static int cgroup_create(struct cgroup *cg, const char *name) {
  memset(cg, 0, sizeof *cg);
  snprintf(cg->name, sizeof cg->name, "%s", name);
  cg->memory_bytes = cg->pids_max = -1;
  if (cgroup_v2) {
    snprintf(cg->dirs[0], PATH_MAX, CGROUP_ROOT "/" CGROUP_PARENT "/%s", name);
    cg->count = 1;
  } else {
    for (int i = 0; i < V1_COUNT; i++) snprintf(cg->dirs[i], PATH_MAX, CGROUP_ROOT "/%s/" CGROUP_PARENT "/%s", V1_CONTROLLERS[i], name);
    cg->count = V1_COUNT;
  }
  /* cpu and cpuacct may be one hierarchy under two names: the same directory twice is harmless. */
  for (int i = 0; i < cg->count; i++) {
    if (mkdir(cg->dirs[i], 0755) != 0 && errno != EEXIST) return -1;
  }
  /* One CPU (a new cgroup's period is already the default 100 ms). */
  if (cgroup_v2) {
    /* memory.swap.max is missing where swap is not accounted: then there is no swap to keep the job from. */
    cgroup_write(cg, 0, "memory.swap.max", "0");
    if (cgroup_write(cg, 0, "cpu.max", "100000 100000")) return -1;
  } else if (cgroup_write(cg, 2, "cpu.cfs_quota_us", "100000")) {
    return -1;
  }
  return cgroup_set_budget(cg, opt.memory_bytes, opt.pids_max);
}

/* 0 once every directory is gone; -1 while one still has tasks (the kernel frees it a moment after they exit). */
static int cgroup_remove(const struct cgroup *cg) {
  int left = 0;
  for (int i = 0; i < cg->count; i++) {
    if (rmdir(cg->dirs[i]) != 0 && errno != ENOENT) left = 1;
  }
  return left ? -1 : 0;
}

static long long cgroup_oom_kills(const struct cgroup *cg) {
  char text[4096];
  if (cgroup_read(cg, 0, cgroup_v2 ? "memory.events" : "memory.oom_control", text, sizeof text)) return 0;
  long long n = keyed_value(text, "oom_kill");
  return n < 0 ? 0 : n;
}

/* ---------- inside a sandbox: its root ---------- */

static void make_parents(const char *path) {
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  for (char *p = copy + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(copy, 0755);
    *p = '/';
  }
}

static int bind_read_only(const char *src, const char *dst) {
  struct stat st;
  if (stat(src, &st) != 0) return -1;
  make_parents(dst);
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(dst, 0755) != 0 && errno != EEXIST) return -1;
  } else {
    int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
  }
  if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
  return mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/*
 * The sandboxes' root, built once: a mount namespace (the template) whose root is a small read-only tmpfs holding
 * read-only binds of the system directories, a read-only /dev of a few devices (built here, not bound: a devpts
 * instance would share the host-wide pty limit, so there is none) and, under /.cgroups, read-only binds of the
 * directories the sandboxes' cgroups are made in. Each sandbox joins the template and unshares a copy of it (one
 * system call, however many mounts), then mounts what is its own (setup_sandbox_root). Nothing in the template is
 * writable from a sandbox: its mounts are read-only and a job can mount nothing (jobexec.c's filter).
 * Returns the template's namespace, held open by this process (no process stays in it).
 */
static int make_template(void) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC)) usage("cannot make a pipe");
  pid_t pid = fork();
  if (pid < 0) usage("cannot fork");
  if (pid == 0) {
    close(ready[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    const char *why = NULL;
#define STEP(call, what) do { if (!why && (call)) why = (what); } while (0)
    STEP(unshare(CLONE_NEWNS), "unshare the mount namespace");
    STEP(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private");
    STEP(mount("sandbox", ROOT_BASE, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755"), "root tmpfs");
    STEP(chdir(ROOT_BASE), "chdir to the root");
    const char *dirs[] = { "proc", "dev", "tmp", "workspace", "etc", "sys", "sys/fs", "sys/fs/cgroup", ".cgroups" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) STEP(mkdir(dirs[i], 0755) && errno != EEXIST, dirs[i]);
    char dst[PATH_MAX];
    for (int i = 0; i < opt.mount_count && !why; i++) {
      const struct mount_spec *m = &opt.mounts[i];
      if (m->kind == 'd') continue;
      snprintf(dst, sizeof dst, ".%s", m->dst);
      if (m->kind == 's') {
        make_parents(dst);
        STEP(symlink(m->src, dst), m->dst);
      } else STEP(bind_read_only(m->src, dst), m->dst);
    }
    /* The job sees its own cgroup's counters (read-only), nothing else of /sys: the sandbox binds its cgroup from
     * here, then detaches /.cgroups. */
    if (!cgroup_v2) STEP(mkdir("sys/fs/cgroup/memory", 0755) || mkdir("sys/fs/cgroup/cpuacct", 0755), "sys/fs/cgroup");
    STEP(mount("sandbox", ".cgroups", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k,nr_inodes=16,mode=0700"), "/.cgroups");
    if (cgroup_v2) {
      STEP(bind_read_only(CGROUP_ROOT "/" CGROUP_PARENT, ".cgroups/unified"), "bind the cgroups");
    } else {
      STEP(bind_read_only(CGROUP_ROOT "/memory/" CGROUP_PARENT, ".cgroups/memory"), "bind the memory cgroups");
      STEP(bind_read_only(CGROUP_ROOT "/cpuacct/" CGROUP_PARENT, ".cgroups/cpuacct"), "bind the cpuacct cgroups");
    }
    STEP(mount(NULL, ".cgroups", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "read-only /.cgroups");
    STEP(mount("sandbox", "dev", "tmpfs", MS_NOSUID, "size=64k,nr_inodes=64,mode=0755"), "mount /dev");
    for (int i = 0; i < opt.mount_count && !why; i++) {
      const struct mount_spec *m = &opt.mounts[i];
      if (m->kind != 'd') continue;
      char src[PATH_MAX];
      snprintf(src, sizeof src, "/dev/%s", m->src);
      snprintf(dst, sizeof dst, "dev/%s", m->src);
      int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      STEP(fd < 0, dst);
      if (fd >= 0) close(fd);
      STEP(mount(src, dst, NULL, MS_BIND, NULL), dst);
    }
    const char *links[][2] = { { "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" }, { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" } };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) STEP(symlink(links[i][0], links[i][1]), links[i][1]);
    STEP(mkdir("dev/shm", 01777), "dev/shm");
    STEP(mount(NULL, "dev", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL), "read-only /dev");
    STEP(syscall(SYS_pivot_root, ".", "."), "pivot_root");
    STEP(umount2(".", MNT_DETACH), "detach the old root");
    STEP(chdir("/"), "chdir /");
    STEP(mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), "read-only root");
#undef STEP
    char text[512];
    snprintf(text, sizeof text, "%.300s%s%s", why ? why : "", why ? ": " : "", why ? strerror(errno) : "");
    ssize_t ignored = write(ready[1], text, strlen(text) + 1);
    (void)ignored;
    pause();
    _exit(0);
  }
  close(ready[1]);
  char text[512] = "it exited";
  ssize_t n = read(ready[0], text, sizeof text - 1);
  text[n > 0 ? n : 0] = 0;
  close(ready[0]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
  int ns = n > 0 && !text[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  if (ns < 0) {
    fprintf(stderr, "sandbox-supervisor: cannot build the sandboxes' root: %s\n", text[0] ? text : strerror(errno));
    exit(125);
  }
  /* Far above the descriptors a sandbox keeps (sandbox_main), which closes it once it joined the namespace. */
  int high = fcntl(ns, F_DUPFD_CLOEXEC, 64);
  close(ns);
  if (high < 0) usage("cannot keep the template namespace");
  return high;
}

static int template_ns = -1;

/* In a sandbox, in its copy of the template: what is its own. */
static void setup_sandbox_root(int sock, const struct cgroup *cg) {
  char src[PATH_MAX];
  if (cgroup_v2) {
    snprintf(src, sizeof src, "/.cgroups/unified/%s", cg->name);
    if (mount(src, "/sys/fs/cgroup", NULL, MS_BIND, NULL)) sandbox_fail(sock, "bind the cgroup");
  } else {
    snprintf(src, sizeof src, "/.cgroups/memory/%s", cg->name);
    if (mount(src, "/sys/fs/cgroup/memory", NULL, MS_BIND, NULL)) sandbox_fail(sock, "bind the memory cgroup");
    snprintf(src, sizeof src, "/.cgroups/cpuacct/%s", cg->name);
    if (mount(src, "/sys/fs/cgroup/cpuacct", NULL, MS_BIND, NULL)) sandbox_fail(sock, "bind the cpuacct cgroup");
  }
  /* The other sandboxes' cgroups go out of reach. */
  if (umount2("/.cgroups", MNT_DETACH)) sandbox_fail(sock, "detach /.cgroups");
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) sandbox_fail(sock, "mount /proc");
  if (sandbox_mount_tmpfs("/workspace", opt.tmpfs_mb, opt.tmpfs_inodes, "1777", 0)) sandbox_fail(sock, "mount /workspace");
  if (sandbox_mount_tmpfs("/tmp", opt.tmpfs_mb, opt.tmpfs_inodes, "1777", 0) ||
      sandbox_mount_tmpfs("/dev/shm", opt.tmpfs_mb, opt.tmpfs_inodes, "1777", MS_NOEXEC))
    sandbox_fail(sock, "mount /tmp and /dev/shm");
  if (sethostname("sandbox", 7)) sandbox_fail(sock, "hostname");
}

/* ---------- the supervisor ---------- */

enum state { FREE, PREPARING, READY, BUSY, ENDED };

struct sandbox {
  enum state state;
  pid_t pid;
  int sock;
  uint32_t job;
  /* The job's steps (0: not known), the reports relayed so far, and whether the job was ended (the sandbox told to
   * stop: its exit is then no news to the worker). */
  uint32_t steps, reports;
  int released;
  struct cgroup cg;
  struct buf in;
  char failure[512];
  long long remove_until;
};

static struct sandbox boxes[MAX_SANDBOXES];

struct pending {
  uint32_t id;
  char *frame;
  size_t size;
};
static struct pending pending[MAX_PENDING];
static int pending_count;
static long long next_prepare_at;
static int last_ready_reported = -1;

/*
 * Frames to the worker are collected while this process handles what woke it and written together (flush_out)
 * before it sleeps again: every write wakes the worker, and a wake-up is what costs most here.
 */
static struct buf out;

static void emit(uint32_t id, uint8_t type, const void *payload, uint32_t n) {
  buf_u32(&out, n + 5);
  buf_u32(&out, id);
  buf_u8(&out, type);
  buf_put(&out, payload, n);
}

static void flush_out(void) {
  if (!out.len) return;
  if (write_all(1, out.p, out.len)) {
    /* The worker is gone: nothing to serve. */
    for (int i = 0; i < MAX_SANDBOXES; i++) if (boxes[i].pid > 0) kill(boxes[i].pid, SIGKILL);
    _exit(0);
  }
  out.len = 0;
}

static void emit_text(uint32_t id, uint8_t type, const char *text) { emit(id, type, text, (uint32_t)strlen(text)); }

static void log_json(const char *level, const char *msg, const char *detail) {
  char line[1024];
  snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"detail\":\"", level, msg);
  size_t n = strlen(line);
  for (const char *p = detail; *p && n < sizeof line - 8; p++) {
    if (*p == '"' || *p == '\\') line[n++] = '\\';
    line[n++] = (*p >= 0x20) ? *p : ' ';
  }
  snprintf(line + n, sizeof line - n, "\"}");
  emit_text(0, 'L', line);
}

static int count(enum state s) {
  int n = 0;
  for (int i = 0; i < MAX_SANDBOXES; i++) n += boxes[i].state == s;
  return n;
}

/* Jobs the worker waits on: busy sandboxes not yet told to stop, and jobs waiting for one. */
static int jobs_in_flight(void) {
  int n = pending_count;
  for (int i = 0; i < MAX_SANDBOXES; i++) n += boxes[i].state == BUSY && !boxes[i].released;
  return n;
}

/* The ready count rides along with other frames while jobs run (a wake-up of its own would cost the worker more
 * than the count is worth then), and goes out at once when none does. */
static void report_ready(void) {
  uint32_t ready = (uint32_t)count(READY);
  if ((int)ready == last_ready_reported) return;
  if (!out.len && jobs_in_flight()) return;
  last_ready_reported = (int)ready;
  emit(0, 'Y', &ready, 4);
}

/*
 * A sandbox is one process, cloned into a fresh pid namespace as its pid 1 (so that everything a job leaves dies
 * with it): it joins its cgroup, enters fresh network, ipc, uts and cgroup namespaces and a copy of the template's
 * mount namespace, mounts what is its own, says ready, serves one job and exits.
 */
static void sandbox_main(int sock, const struct cgroup *cg) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  prctl(PR_SET_NAME, "sandbox-init", 0, 0, 0);
  /* SIGCHLD stays blocked (inherited): sandbox_serve reads it from a signalfd. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_SETMASK, &chld, NULL);
  if (dup2(sock, 3) != 3) _exit(1);
  sock = 3;
  /* Nothing of the supervisor's stays open here (other sandboxes' sockets) but the template, closed below. */
  syscall(SYS_close_range, 4, (unsigned)template_ns - 1, 0);
  syscall(SYS_close_range, (unsigned)template_ns + 1, ~0U, 0);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  dup2(devnull, 0);
  dup2(devnull, 1);
  if (devnull > 2) close(devnull);
  sandbox_open_counters(cg->dirs[0], cg->dirs[cgroup_v2 ? 0 : 3], cgroup_v2);
  /* "0": the writer itself (its pid here would be read in the host's pid namespace). */
  char path[PATH_MAX + 64];
  for (int i = 0; i < cg->count; i++) {
    snprintf(path, sizeof path, "%s/cgroup.procs", cg->dirs[i]);
    if (write_file(path, "0")) sandbox_fail(sock, "join the sandbox cgroup");
  }
  /* After joining: the namespaces' kernel memory is charged to the sandbox, and its cgroup namespace is rooted at
   * its own cgroup. */
  if (unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)) sandbox_fail(sock, "unshare namespaces");
  if (setns(template_ns, CLONE_NEWNS)) sandbox_fail(sock, "join the template mount namespace");
  close(template_ns);
  /* A copy of its own: the template never changes. */
  if (unshare(CLONE_NEWNS)) sandbox_fail(sock, "unshare the mount namespace");
  if (chdir("/")) sandbox_fail(sock, "chdir /");
  setup_sandbox_root(sock, cg);
  sandbox_send_frame(sock, 'Y', NULL, 0);
  struct sandbox_config config = { .remount_scratch = 1, .tmpfs_mb = opt.tmpfs_mb, .tmpfs_inodes = opt.tmpfs_inodes };
  sandbox_serve(sock, &config);
}

static struct sandbox *prepare(void) {
  struct sandbox *b = NULL;
  for (int i = 0; i < MAX_SANDBOXES && !b; i++) if (boxes[i].state == FREE) b = &boxes[i];
  if (!b) return NULL;
  memset(b, 0, sizeof *b);
  char name[512];
  uint32_t r;
  while (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {}
  snprintf(name, sizeof name, "%s%08x", opt.prefix, r);
  if (cgroup_create(&b->cg, name)) {
    char why[600];
    snprintf(why, sizeof why, "cannot create the sandbox cgroup %.300s: %s (run the worker as root)", b->cg.dirs[0], strerror(errno));
    cgroup_remove(&b->cg);
    log_json("error", "cannot prepare a sandbox", why);
    return NULL;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)) abort();
  /* Like fork (this process has one thread), into a new pid namespace. */
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) {
    close(pair[0]);
    close(pair[1]);
    cgroup_remove(&b->cg);
    return NULL;
  }
  if (pid == 0) {
    close(pair[0]);
    sandbox_main(pair[1], &b->cg);
  }
  close(pair[1]);
  fcntl(pair[0], F_SETFL, O_NONBLOCK);
  b->state = PREPARING;
  b->pid = pid;
  b->sock = pair[0];
  return b;
}

static void fail_pending(const char *why) {
  if (!pending_count) return;
  emit_text(pending[0].id, 'F', why);
  free(pending[0].frame);
  memmove(pending, pending + 1, (size_t)(pending_count - 1) * sizeof *pending);
  pending_count--;
}

/* Keeps --ready sandboxes ready or on their way, plus one for each job waiting. */
static void top_up(void) {
  if (now_ms() < next_prepare_at) return;
  while (count(READY) + count(PREPARING) < opt.ready + pending_count) {
    if (!prepare()) {
      next_prepare_at = now_ms() + 1000;
      fail_pending("cannot prepare a sandbox (see the worker log)");
      return;
    }
  }
}

/* The number of steps of a request (parse_request in sandbox.c), read past its files, inputs and environment; 0 when
 * it cannot be told (the sandbox then refuses the request, or the worker ends the job). */
static uint32_t request_steps(const char *p, size_t size) {
  size_t at = 0;
  uint32_t n;
#define U32(v) do { if (size - at < 4) return 0; memcpy(&(v), p + at, 4); at += 4; } while (0)
#define SKIP_STRINGS(count) do { for (uint32_t k = 0; k < (count); k++) { uint32_t len; U32(len); if (size - at < len) return 0; at += len; } } while (0)
  U32(n);
  if (n > 1024) return 0;
  SKIP_STRINGS(2 * n);
  U32(n);
  if (n > 1024) return 0;
  SKIP_STRINGS(n);
  U32(n);
  if (n > 64) return 0;
  SKIP_STRINGS(n);
  U32(n);
#undef SKIP_STRINGS
#undef U32
  return n;
}

/* Tells a busy sandbox to end its job (it exits). */
static void end_job(struct sandbox *b) {
  if (b->released) return;
  b->released = 1;
  if (write_all(b->sock, "s", 1)) kill(b->pid, SIGKILL);
}

static void assign(struct sandbox *b, uint32_t id, const char *payload, size_t size, int hit) {
  uint64_t memory;
  uint32_t pids, label_len;
  if (size < 16) goto malformed;
  memcpy(&memory, payload, 8);
  memcpy(&pids, payload + 8, 4);
  memcpy(&label_len, payload + 12, 4);
  if ((uint64_t)label_len > size - 16) goto malformed;
  if (memory < (16u << 20) || pids < 8) {
    emit_text(id, 'F', "refused: a job's sandbox budget is below the minimum (16 MiB, 8 tasks)");
    return;
  }
  if (cgroup_set_budget(&b->cg, (long long)memory, pids)) {
    char why[256];
    snprintf(why, sizeof why, "cannot fit the sandbox cgroup to the job: %s", strerror(errno));
    emit_text(id, 'F', why);
    kill(b->pid, SIGKILL);
    b->state = ENDED;
    return;
  }
  const char *body = payload + 16 + label_len;
  uint32_t body_size = (uint32_t)(size - 16 - label_len);
  uint8_t h = (uint8_t)hit;
  b->state = BUSY;
  b->job = id;
  b->steps = request_steps(body, body_size);
  b->reports = 0;
  emit(id, 'A', &h, 1);
  if (write_all(b->sock, &body_size, 4) || write_all(b->sock, body, body_size)) kill(b->pid, SIGKILL);
  return;
malformed:
  emit_text(id, 'F', "refused: a malformed job frame");
}

static struct sandbox *busy_with(uint32_t id) {
  for (int i = 0; i < MAX_SANDBOXES; i++) if (boxes[i].state == BUSY && boxes[i].job == id) return &boxes[i];
  return NULL;
}

static void on_worker_frame(uint32_t id, uint8_t type, const char *payload, size_t size) {
  if (type == 'J') {
    if (busy_with(id)) {
      emit_text(id, 'F', "refused: a job with this id is running");
      return;
    }
    for (int i = 0; i < MAX_SANDBOXES; i++) {
      if (boxes[i].state == READY) {
        assign(&boxes[i], id, payload, size, 1);
        report_ready();
        /* The assignment goes out before the next sandbox is prepared. */
        flush_out();
        top_up();
        return;
      }
    }
    if (pending_count >= MAX_PENDING) {
      emit_text(id, 'F', "refused: too many jobs waiting for a sandbox");
      return;
    }
    char *copy = malloc(size ? size : 1);
    memcpy(copy, payload, size);
    pending[pending_count++] = (struct pending){ id, copy, size };
    top_up();
  } else if (type == 'C') {
    struct sandbox *b = busy_with(id);
    if (!b || b->released || size != 1) return;
    if (payload[0] == 'c') {
      if (write_all(b->sock, payload, 1)) kill(b->pid, SIGKILL);
    } else {
      end_job(b);
    }
  } else if (type == 'K') {
    struct sandbox *b = busy_with(id);
    if (b) kill(b->pid, SIGKILL);
    for (int i = 0; i < pending_count; i++) {
      if (pending[i].id != id) continue;
      free(pending[i].frame);
      memmove(pending + i, pending + i + 1, (size_t)(pending_count - i - 1) * sizeof *pending);
      pending_count--;
      emit_text(id, 'F', "killed before it started");
      break;
    }
  } else {
    emit_text(id, 'F', "refused: unknown frame type");
  }
}

static void on_sandbox_frame(struct sandbox *b, uint8_t type, const char *payload, uint32_t size) {
  if (type == 'Y' && b->state == PREPARING) {
    b->state = READY;
    if (pending_count) {
      struct pending p = pending[0];
      memmove(pending, pending + 1, (size_t)(pending_count - 1) * sizeof *pending);
      pending_count--;
      assign(b, p.id, p.frame, p.size, 0);
      free(p.frame);
    }
    report_ready();
  } else if (type == 'R' && b->state == BUSY) {
    emit(b->job, 'R', payload, size);
    /* After the last step there is nothing to decide: the job ends here, and the worker sends no decision. */
    if (b->steps && ++b->reports == b->steps) end_job(b);
  } else if (type == 'F') {
    if (b->state == BUSY) emit(b->job, 'F', payload, size);
    else snprintf(b->failure, sizeof b->failure, "%.*s", (int)size, payload);
  }
}

static void read_sandbox(struct sandbox *b) {
  if (!buf_read_available(b->sock, &b->in)) {
    close(b->sock);
    b->sock = -1;
  }
  while (b->in.len >= 5) {
    uint32_t len;
    memcpy(&len, b->in.p, 4);
    if (len == 0 || len > MAX_FRAME) {
      kill(b->pid, SIGKILL);
      b->in.len = 0;
      break;
    }
    if (b->in.len < 4 + (size_t)len) break;
    on_sandbox_frame(b, (uint8_t)b->in.p[4], b->in.p + 5, len - 1);
    buf_drop(&b->in, 4 + (size_t)len);
  }
}

static void on_sandbox_exit(struct sandbox *b, int status) {
  if (b->sock >= 0) {
    read_sandbox(b);
    if (b->sock >= 0) close(b->sock);
    b->sock = -1;
  }
  if (b->state == BUSY && !b->released) {
    struct buf e = { 0 };
    buf_i32(&e, status);
    buf_u32(&e, (uint32_t)cgroup_oom_kills(&b->cg));
    emit(b->job, 'E', e.p, (uint32_t)e.len);
    free(e.p);
  } else if (b->state == PREPARING) {
    log_json("error", "a sandbox failed to start", b->failure[0] ? b->failure : "it exited before it was ready");
    char why[600];
    snprintf(why, sizeof why, "cannot prepare a sandbox: %s", b->failure[0] ? b->failure : "it exited before it was ready");
    fail_pending(why);
    next_prepare_at = now_ms() + 1000;
  }
  free(b->in.p);
  b->in = (struct buf){ 0 };
  b->pid = 0;
  b->state = ENDED;
  b->remove_until = now_ms() + 10000;
}

/* Ended sandboxes' cgroups go as soon as the kernel lets them; one that never does is reported and left. */
static void remove_ended(void) {
  for (int i = 0; i < MAX_SANDBOXES; i++) {
    struct sandbox *b = &boxes[i];
    if (b->state != ENDED || b->pid) continue;
    if (cgroup_remove(&b->cg) == 0) b->state = FREE;
    else if (now_ms() > b->remove_until) {
      log_json("error", "cannot remove a sandbox cgroup", b->cg.dirs[0]);
      b->state = FREE;
    }
  }
}

static void reap(void) {
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) return;
    for (int i = 0; i < MAX_SANDBOXES; i++) {
      if (boxes[i].pid == p) on_sandbox_exit(&boxes[i], st);
    }
  }
}

static void shut_down(int sigfd) {
  flush_out();
  for (int i = 0; i < MAX_SANDBOXES; i++) if (boxes[i].pid > 0) kill(boxes[i].pid, SIGKILL);
  long long until = now_ms() + 5000;
  for (;;) {
    int live = 0;
    for (int i = 0; i < MAX_SANDBOXES; i++) live += boxes[i].pid > 0;
    if (!live) break;
    struct pollfd pfd = { sigfd, POLLIN, 0 };
    poll(&pfd, 1, 50);
    struct signalfd_siginfo info;
    while (read(sigfd, &info, sizeof info) > 0) {}
    reap();
    if (now_ms() > until) break;
  }
  while (now_ms() < until) {
    remove_ended();
    if (!count(ENDED)) break;
    struct timespec pause = { 0, 20 * 1000000 };
    nanosleep(&pause, NULL);
  }
  flush_out();
  exit(0);
}

int main(int argc, char **argv) {
  parse_options(argc, argv);
  hide_arguments(argc, argv);
  /* Dies with the worker that started it; its sandboxes die with it (their parent-death signals). */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (getppid() == 1) return 1;
  if (geteuid() != 0) usage("must run as root (it creates namespaces and cgroups, then drops each job to its own uid)");
  signal(SIGPIPE, SIG_IGN);
  mkdir("/run/code-execution", 0755);
  if (mkdir(ROOT_BASE, 0755) && errno != EEXIST) usage("cannot create " ROOT_BASE);
  cgroup_init();
  template_ns = make_template();
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  fcntl(0, F_SETFL, O_NONBLOCK);
  struct buf in = { 0 };
  top_up();
  report_ready();
  for (;;) {
    struct pollfd pfd[MAX_SANDBOXES + 2];
    int index[MAX_SANDBOXES + 2];
    int n = 0;
    pfd[n++] = (struct pollfd){ 0, POLLIN, 0 };
    pfd[n++] = (struct pollfd){ sigfd, POLLIN, 0 };
    for (int i = 0; i < MAX_SANDBOXES; i++) {
      if (boxes[i].sock >= 0 && boxes[i].pid > 0 && (boxes[i].state == PREPARING || boxes[i].state == READY || boxes[i].state == BUSY)) {
        index[n] = i;
        pfd[n++] = (struct pollfd){ boxes[i].sock, POLLIN, 0 };
      }
    }
    int waiting = count(ENDED) > 0 || (now_ms() < next_prepare_at);
    flush_out();
    poll(pfd, (nfds_t)n, waiting ? 20 : -1);
    for (int k = 2; k < n; k++) {
      if (pfd[k].revents) read_sandbox(&boxes[index[k]]);
    }
    if (pfd[1].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) > 0) {}
      reap();
    }
    if (pfd[0].revents) {
      if (!buf_read_available(0, &in)) shut_down(sigfd);
      while (in.len >= 9) {
        uint32_t len, id;
        memcpy(&len, in.p, 4);
        memcpy(&id, in.p + 4, 4);
        if (len < 5 || len > MAX_FRAME) {
          /* The stream cannot be followed past a frame it cannot read: stop serving rather than guess. */
          log_json("error", "refused a frame it cannot read; stopping", "frame length out of range");
          shut_down(sigfd);
        }
        if (in.len < 4 + (size_t)len) break;
        on_worker_frame(id, (uint8_t)in.p[8], in.p + 9, len - 5);
        buf_drop(&in, 4 + (size_t)len);
      }
    }
    /* What the sandboxes and the worker said is answered before the housekeeping below. */
    flush_out();
    remove_ended();
    top_up();
    report_ready();
  }
}
