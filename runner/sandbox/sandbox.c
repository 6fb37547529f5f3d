/* See sandbox.h. */
#define _GNU_SOURCE
#include "sandbox.h"
#include "jobexec.h"
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
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (64u << 20)
#define SAMPLE_MS 10

static const struct sandbox_config *cfg;

/* ---------- wire ---------- */

long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void buf_put(struct buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) abort();
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}
void buf_u8(struct buf *b, uint8_t v) { buf_put(b, &v, 1); }
void buf_u32(struct buf *b, uint32_t v) { buf_put(b, &v, 4); }
void buf_i32(struct buf *b, int32_t v) { buf_put(b, &v, 4); }
void buf_u64(struct buf *b, uint64_t v) { buf_put(b, &v, 8); }
void buf_bytes(struct buf *b, const void *data, uint32_t n) { buf_u32(b, n); buf_put(b, data, n); }
void buf_drop(struct buf *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

/* Writes everything, waiting out a full non-blocking descriptor. */
int write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = { fd, POLLOUT, 0 };
        poll(&pfd, 1, 1000);
        continue;
      }
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int buf_read_available(int fd, struct buf *b) {
  char chunk[65536];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return 1;
    if (r <= 0) return 0;
    buf_put(b, chunk, (size_t)r);
  }
}

int read_all(int fd, void *data, size_t n) {
  char *p = data;
  while (n) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

long long keyed_value(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, n) == 0 && line[n] == ' ') return strtoll(line + n + 1, NULL, 10);
  }
  return -1;
}


/* ---------- inside a sandbox: counters of its own cgroup ---------- */

/* Opened before the sandbox leaves the host's view; read with pread at offset 0. */
static struct {
  int v2;
  int oom, stat, kmem, cpu;
} counters = { 0, -1, -1, -1, -1 };

static int open_in(const char *dir, const char *file) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return open(path, O_RDONLY | O_CLOEXEC);
}

void sandbox_open_counters(const char *memory_dir, const char *cpu_dir, int v2) {
  counters.v2 = v2;
  counters.oom = open_in(memory_dir, v2 ? "memory.events" : "memory.oom_control");
  counters.stat = open_in(memory_dir, "memory.stat");
  counters.kmem = v2 ? -1 : open_in(memory_dir, "memory.kmem.usage_in_bytes");
  counters.cpu = open_in(cpu_dir, v2 ? "cpu.stat" : "cpuacct.usage");
}

static int read_counter(int fd, char *out, size_t size) {
  if (fd < 0) return -1;
  ssize_t r = pread(fd, out, size - 1, 0);
  if (r < 0) return -1;
  out[r] = 0;
  return 0;
}

static long long oom_kills_now(void) {
  char text[1024];
  if (read_counter(counters.oom, text, sizeof text)) return 0;
  long long n = keyed_value(text, "oom_kill");
  return n < 0 ? 0 : n;
}

/* CPU of every task in the sandbox cgroup so far, in microseconds (-1 when not visible). */
static long long cgroup_cpu_us(void) {
  char text[1024];
  if (read_counter(counters.cpu, text, sizeof text)) return -1;
  if (counters.v2) return keyed_value(text, "usage_usec");
  return strtoll(text, NULL, 10) / 1000;
}

/*
 * Memory of the cgroup that belongs to its processes, in KB: anonymous, tmpfs and kernel memory (page cache is
 * not the job's). The kernel keeps no peak of that sum alone, so runs are sampled.
 */
static long long resident_kb(void) {
  char text[8192];
  if (read_counter(counters.stat, text, sizeof text)) return 0;
  long long total;
  if (counters.v2) {
    long long kernel = keyed_value(text, "kernel"), sock = keyed_value(text, "sock");
    total = keyed_value(text, "anon") + keyed_value(text, "shmem") + (kernel > 0 ? kernel : 0) + (sock > 0 ? sock : 0);
  } else {
    total = keyed_value(text, "total_rss") + keyed_value(text, "total_shmem");
    char kmem[64];
    if (read_counter(counters.kmem, kmem, sizeof kmem) == 0) total += strtoll(kmem, NULL, 10);
  }
  return total / 1024;
}

/* ---------- frames and scratch mounts ---------- */

/* Batch mode: frames go to stdout as SANDBOX_FRAME_LINE + base64 + newline (a pod log is text, split at newlines). */
static int frames_as_lines;

static void put_base64_line(const struct buf *frame) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  struct buf line = { 0 };
  buf_put(&line, SANDBOX_FRAME_LINE, strlen(SANDBOX_FRAME_LINE));
  const unsigned char *p = (const unsigned char *)frame->p;
  for (size_t i = 0; i < frame->len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < frame->len ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < frame->len ? p[i + 2] : 0);
    char quad[4] = { digits[v >> 18 & 63], digits[v >> 12 & 63], i + 1 < frame->len ? digits[v >> 6 & 63] : '=', i + 2 < frame->len ? digits[v & 63] : '=' };
    buf_put(&line, quad, 4);
  }
  buf_put(&line, "\n", 1);
  write_all(STDOUT_FILENO, line.p, line.len);
  free(line.p);
}

void sandbox_send_frame(int fd, uint8_t type, const void *payload, uint32_t n) {
  struct buf b = { 0 };
  buf_u32(&b, n + 1);
  buf_u8(&b, type);
  buf_put(&b, payload, n);
  if (frames_as_lines) put_base64_line(&b);
  else write_all(fd, b.p, b.len);
  free(b.p);
}

void sandbox_fail(int sock, const char *what) {
  char text[512];
  snprintf(text, sizeof text, "sandbox setup failed: %s: %s", what, strerror(errno));
  sandbox_send_frame(sock, 'F', text, (uint32_t)strlen(text));
  _exit(1);
}

int sandbox_mount_tmpfs(const char *dst, long long mb, long long inodes, const char *mode, unsigned long flags) {
  char options[128];
  snprintf(options, sizeof options, "size=%lldm,nr_inodes=%lld,mode=%s", mb, inodes, mode);
  return mount("sandbox", dst, "tmpfs", MS_NOSUID | MS_NODEV | flags, options);
}

/* The job's scratch directories, fresh: a new tmpfs each, the old one gone with its last user. */
static int fresh_scratch_mounts(void) {
  umount2("/tmp", MNT_DETACH);
  umount2("/dev/shm", MNT_DETACH);
  if (sandbox_mount_tmpfs("/tmp", cfg->tmpfs_mb, cfg->tmpfs_inodes, "1777", 0)) return -1;
  return sandbox_mount_tmpfs("/dev/shm", cfg->tmpfs_mb, cfg->tmpfs_inodes, "1777", MS_NOEXEC);
}

/* ---------- inside a sandbox: the request ---------- */

struct step {
  uint8_t kind, merge_output;
  int32_t stdin_index;
  struct job_limits limits;
  long long wall_ms, output_cap;
  char **argv;
};

struct request {
  uint32_t file_count;
  char **file_names;
  char **file_data;
  uint32_t *file_sizes;
  uint32_t stdin_count;
  int *stdin_fds;
  char **env;
  uint32_t step_count;
  struct step *steps;
};

struct cursor {
  const char *p, *end;
  const char *error;
};

/* Copies the next n bytes to out (zeroes on a short request, which sets the cursor's error). */
static void take(struct cursor *c, void *out, size_t n) {
  if (c->error || (size_t)(c->end - c->p) < n) {
    c->error = c->error ? c->error : "truncated";
    memset(out, 0, n);
    return;
  }
  memcpy(out, c->p, n);
  c->p += n;
}
static uint32_t take_u32(struct cursor *c) { uint32_t v; take(c, &v, 4); return v; }
static uint64_t take_u64(struct cursor *c) { uint64_t v; take(c, &v, 8); return v; }
static uint8_t take_u8(struct cursor *c) { uint8_t v; take(c, &v, 1); return v; }
/* A length-prefixed byte string; `text` ones may hold no NUL (they become C strings). */
static char *take_bytes(struct cursor *c, uint32_t *size, int text) {
  uint32_t n = take_u32(c);
  if (c->error) return NULL;
  if ((uint64_t)(c->end - c->p) < n) { c->error = "truncated"; return NULL; }
  if (text && memchr(c->p, 0, n)) { c->error = "a name, argument or variable holds a NUL byte"; return NULL; }
  char *s = malloc((size_t)n + 1);
  if (!s) abort();
  memcpy(s, c->p, n);
  s[n] = 0;
  c->p += n;
  if (size) *size = n;
  return s;
}

static int valid_file_name(const char *name) {
  return name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

/*
 * request := u32 files { name, content } | u32 stdins { content } | u32 env { "K=V" } |
 *            u32 steps { u8 kind (0 compile, 1 case) | u8 merge output | i32 stdin index (-1: none) |
 *                        u64 cpu ms, wall ms, nproc, fsize, stack, nofile, output cap | u32 argc { arg } }
 */
static const char *parse_request(const char *data, size_t size, struct request *r) {
  struct cursor c = { data, data + size, NULL };
  memset(r, 0, sizeof *r);
  r->file_count = take_u32(&c);
  if (r->file_count > 1024) return "too many files";
  r->file_names = calloc(r->file_count + 1, sizeof *r->file_names);
  r->file_data = calloc(r->file_count + 1, sizeof *r->file_data);
  r->file_sizes = calloc(r->file_count + 1, sizeof *r->file_sizes);
  for (uint32_t i = 0; i < r->file_count && !c.error; i++) {
    r->file_names[i] = take_bytes(&c, NULL, 1);
    if (!c.error && !valid_file_name(r->file_names[i])) return "a file name must be a plain name in the workspace";
    r->file_data[i] = take_bytes(&c, &r->file_sizes[i], 0);
  }
  r->stdin_count = take_u32(&c);
  if (r->stdin_count > 1024) return "too many inputs";
  r->stdin_fds = calloc(r->stdin_count + 1, sizeof *r->stdin_fds);
  for (uint32_t i = 0; i < r->stdin_count && !c.error; i++) {
    uint32_t n;
    char *data = take_bytes(&c, &n, 0);
    if (c.error) break;
    int fd = memfd_create("stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || write_all(fd, data, n)) return "cannot hold a case's input";
    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    r->stdin_fds[i] = fd;
    free(data);
  }
  uint32_t env_count = take_u32(&c);
  if (env_count > 64) return "too many environment variables";
  r->env = calloc(env_count + 1, sizeof *r->env);
  for (uint32_t i = 0; i < env_count && !c.error; i++) {
    r->env[i] = take_bytes(&c, NULL, 1);
    if (!c.error && !strchr(r->env[i], '=')) return "an environment variable needs K=V";
  }
  r->step_count = take_u32(&c);
  if (r->step_count == 0 || r->step_count > 1024) return "a job needs between 1 and 1024 steps";
  r->steps = calloc(r->step_count, sizeof *r->steps);
  for (uint32_t i = 0; i < r->step_count && !c.error; i++) {
    struct step *s = &r->steps[i];
    s->kind = take_u8(&c);
    s->merge_output = take_u8(&c);
    s->stdin_index = (int32_t)take_u32(&c);
    s->limits.cpu_ms = (long long)take_u64(&c);
    s->wall_ms = (long long)take_u64(&c);
    s->limits.nproc = (long long)take_u64(&c);
    s->limits.fsize = (long long)take_u64(&c);
    s->limits.stack = (long long)take_u64(&c);
    s->limits.nofile = (long long)take_u64(&c);
    s->output_cap = (long long)take_u64(&c);
    uint32_t argc = take_u32(&c);
    if (c.error) break;
    if (argc == 0 || argc > 4096) return "a step needs between 1 and 4096 arguments";
    if (s->stdin_index < -1 || s->stdin_index >= (int32_t)r->stdin_count) return "a step names an input that is not there";
    if (s->kind > 1 || s->wall_ms <= 0 || s->output_cap <= 0 || s->output_cap > (64 << 20) || s->limits.nproc <= 0) return "a step has limits out of range";
    s->argv = calloc(argc + 1, sizeof *s->argv);
    for (uint32_t k = 0; k < argc && !c.error; k++) s->argv[k] = take_bytes(&c, NULL, 1);
  }
  if (c.error) return c.error;
  if (c.p != c.end) return "trailing bytes after the request";
  return NULL;
}

/* ---------- inside a sandbox: workspace hygiene between steps (scratch.h) ---------- */

static const struct name_set DOTS = { (char *[]){ ".", ".." }, 2 };

/* 1 when dir holds an entry not in kept (a missing dir holds none). */
static int holds_others(const char *dir, const struct name_set *kept) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  int found = 0;
  while (!found && (e = readdir(d)) != NULL) found = !name_set_has(kept, e->d_name);
  closedir(d);
  return found;
}

/* Removes every entry of dir (as root) but those in kept; 0 when none is left, checked on a listing of its own. */
static int clear_dir(const char *dir, const struct name_set *kept) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  clear_tree(fd, (uid_t)-1, kept);
  close(fd);
  return holds_others(dir, kept) ? -1 : 0;
}

/*
 * Before a case: the workspace as the compile step (or the request) left it, and empty /tmp and /dev/shm. With
 * remounts they are new tmpfs; without, what the last step's uid owns is removed as that uid first (it can undo
 * whatever modes it set), and what remains can only be other owners' entries in these sticky directories (hard
 * links), which root, their directories' owner, removes. What the compile step made is locked (lock_compiled), so a
 * case can only have added names at the workspace's top. Anything that stays fails the case, never leaks into it.
 */
static int fresh_scratch(const struct name_set *kept, uid_t uid, int last_was_case) {
  static const char *const scratch[] = { "/tmp", "/dev/shm", "/workspace" };
  /* The wiper is a fork and a uid switch: only when the step left something (most leave nothing). Root can
   * list these directories whatever their entries' modes. */
  int left = holds_others("/tmp", &DOTS) || holds_others("/dev/shm", &DOTS) || (last_was_case && holds_others("/workspace", kept));
  if (!cfg->remount_scratch && left) wipe_owned(uid, uid, scratch, last_was_case ? 3 : 2);
  if (clear_dir("/workspace", kept)) return -1;
  if (cfg->remount_scratch) return fresh_scratch_mounts();
  return clear_dir("/tmp", &DOTS) || clear_dir("/dev/shm", &DOTS) ? -1 : 0;
}

/* ---------- inside a sandbox: one step ---------- */

struct capture {
  int fd;
  struct buf data;
  long long cap;
  int truncated;
};

/* Returns 0 while the stream is within its cap. */
static int drain(struct capture *c) {
  char chunk[65536];
  for (;;) {
    ssize_t r = read(c->fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0 || errno != EAGAIN) {
        close(c->fd);
        c->fd = -1;
      }
      return c->truncated;
    }
    long long room = c->cap - (long long)c->data.len;
    if (r > room) {
      if (room > 0) buf_put(&c->data, chunk, (size_t)room);
      c->truncated = 1;
      return 1;
    }
    buf_put(&c->data, chunk, (size_t)r);
  }
}

static int signal_fd;
/* Batch mode: the compile step failed, so no case runs. */
static int compile_failed;
/* The last step's uid, and the compile step's: no case gets either (a case owning the compiled files could change them). */
static uid_t last_uid, compiled_uid;

/* Every process of the step, however it detached itself: all but this one (pid 1 of its pid namespace), or,
 * without CAP_KILL, every process of the step's uid. */
static void kill_step(uid_t uid) {
  if (cfg->kill_by_uid) kill_job_uid(uid, uid);
  else kill(-1, SIGKILL);
}

static long long tv_us(struct timeval tv) { return (long long)tv.tv_sec * 1000000 + tv.tv_usec; }

/*
 * Runs one step to its end and reports it:
 *   i32 exit code (-1: none) | i32 signal (0: none) | u8 killed by (0, 1 wall, 2 output) | u8 stdout truncated |
 *   u8 stderr truncated | u8 OOM kill seen | u64 CPU ms (rusage) | u64 CPU ms (measured) | u64 wall ms |
 *   u64 peak RSS KB | u64 memory KB (measured) | exec error text | stdout | stderr | u8 workspace state (scratch.h)
 */
static void run_step(int sock, const struct request *r, const struct step *s) {
  int out[2], err[2] = { -1, -1 }, errpipe[2];
  if (pipe2(out, O_CLOEXEC) || (!s->merge_output && pipe2(err, O_CLOEXEC)) || pipe2(errpipe, O_CLOEXEC)) {
    perror("sandbox-supervisor: pipe");
    _exit(1);
  }
  int stdin_fd;
  if (s->stdin_index >= 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", r->stdin_fds[s->stdin_index]);
    stdin_fd = open(path, O_RDONLY | O_CLOEXEC);
  } else {
    stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (stdin_fd < 0) {
    perror("sandbox-supervisor: stdin");
    _exit(1);
  }
  uid_t uid;
  do uid = random_job_uid(); while (uid == last_uid || uid == compiled_uid);
  last_uid = uid;

  long long oom_before = oom_kills_now(), cg_before = cgroup_cpu_us(), mem_before = resident_kb(), peak = mem_before;
  struct rusage self_before;
  getrusage(RUSAGE_SELF, &self_before);
  long long started = now_ms();
  pid_t child = fork();
  if (child < 0) {
    perror("sandbox-supervisor: fork");
    _exit(1);
  }
  if (child == 0) {
    dup2(stdin_fd, 0);
    dup2(out[1], 1);
    dup2(s->merge_output ? out[1] : err[1], 2);
    if (enter_job(&s->limits, uid, uid, "/workspace", errpipe[1]) == 0) {
      for (char **e = r->env; *e; e++) {
        if (strncmp(*e, "PATH=", 5) == 0) setenv("PATH", *e + 5, 1);
      }
      execvpe(s->argv[0], s->argv, r->env);
    }
    int e = errno;
    ssize_t ignored = write(errpipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  close(stdin_fd);
  close(out[1]);
  if (err[1] >= 0) close(err[1]);
  close(errpipe[1]);
  struct capture streams[2] = { { out[0], { 0 }, s->output_cap, 0 }, { err[0], { 0 }, s->output_cap, 0 } };
  for (int i = 0; i < 2; i++) if (streams[i].fd >= 0) fcntl(streams[i].fd, F_SETFL, O_NONBLOCK);

  int status = 0, main_done = 0, killed_by = 0;
  long long cpu_us = 0, max_rss = 0;
  long long deadline = started + s->wall_ms, next_sample = started;
  /* Until the program and everything it started are gone; then what is left in the pipes. */
  for (;;) {
    struct pollfd pfd[3] = { { signal_fd, POLLIN, 0 }, { streams[0].fd, POLLIN, 0 }, { streams[1].fd, POLLIN, 0 } };
    long long left = deadline - now_ms();
    if (left <= 0 && !killed_by) {
      killed_by = 1;
      kill_step(uid);
    }
    int timeout = (int)(left > SAMPLE_MS || left <= 0 ? SAMPLE_MS : left);
    poll(pfd, 3, timeout);
    /* Sampled every SAMPLE_MS however often output wakes the loop. */
    if (now_ms() >= next_sample) {
      long long sample = resident_kb();
      if (sample > peak) peak = sample;
      next_sample = now_ms() + SAMPLE_MS;
    }
    for (int i = 0; i < 2; i++) {
      if (streams[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) && drain(&streams[i]) && !killed_by) {
        killed_by = 2;
        kill_step(uid);
      }
    }
    struct signalfd_siginfo info;
    while (read(signal_fd, &info, sizeof info) > 0) {}
    int children_left = 1;
    for (;;) {
      int st;
      struct rusage ru;
      pid_t p = wait4(-1, &st, WNOHANG | __WALL, &ru);
      if (p == 0) break;
      if (p < 0) {
        children_left = 0;
        break;
      }
      cpu_us += tv_us(ru.ru_utime) + tv_us(ru.ru_stime);
      if (ru.ru_maxrss > max_rss) max_rss = ru.ru_maxrss;
      if (p == child) {
        status = st;
        main_done = 1;
      }
    }
    /* Background processes (nohup, setsid, double fork) die with their program. */
    if (main_done && children_left) kill_step(uid);
    if (main_done && !children_left) break;
  }
  long long wall = now_ms() - started;
  for (int i = 0; i < 2; i++) {
    if (streams[i].fd >= 0) {
      fcntl(streams[i].fd, F_SETFL, 0);
      drain(&streams[i]);
      if (streams[i].fd >= 0) close(streams[i].fd);
    }
  }
  long long sample = resident_kb();
  if (sample > peak) peak = sample;

  int exec_errno = 0;
  if (read(errpipe[0], &exec_errno, sizeof exec_errno) != (ssize_t)sizeof exec_errno) exec_errno = 0;
  close(errpipe[0]);

  /* Every process of the step is gone: what a compile step made can be locked for the cases. */
  enum workspace_state workspace = WORKSPACE_LOCKED;
  if (s->kind == 0) {
    compiled_uid = uid;
    workspace = lock_compiled(uid, uid, "/workspace");
    compile_failed = exec_errno || killed_by || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }

  /* The cgroup also sees children the job let the kernel reap (SIGCHLD ignored), which wait4 never returns;
   * what this process used meanwhile is taken off. */
  struct rusage self_after;
  getrusage(RUSAGE_SELF, &self_after);
  long long cg_after = cgroup_cpu_us();
  long long self_us = tv_us(self_after.ru_utime) + tv_us(self_after.ru_stime) - tv_us(self_before.ru_utime) - tv_us(self_before.ru_stime);
  long long measured_us = cg_before >= 0 && cg_after >= 0 ? cg_after - cg_before - self_us : 0;
  long long memory_kb = peak - mem_before > max_rss ? peak - mem_before : max_rss;

  struct buf report = { 0 };
  buf_i32(&report, WIFEXITED(status) && !exec_errno ? WEXITSTATUS(status) : (exec_errno ? 127 : -1));
  buf_i32(&report, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  buf_u8(&report, (uint8_t)killed_by);
  buf_u8(&report, (uint8_t)streams[0].truncated);
  buf_u8(&report, (uint8_t)streams[1].truncated);
  buf_u8(&report, oom_kills_now() > oom_before);
  buf_u64(&report, (uint64_t)(cpu_us / 1000));
  buf_u64(&report, (uint64_t)((measured_us > cpu_us ? measured_us : cpu_us) / 1000));
  buf_u64(&report, (uint64_t)wall);
  buf_u64(&report, (uint64_t)max_rss);
  buf_u64(&report, (uint64_t)memory_kb);
  const char *exec_error = exec_errno ? strerror(exec_errno) : "";
  buf_bytes(&report, exec_error, (uint32_t)strlen(exec_error));
  buf_bytes(&report, streams[0].data.p ? streams[0].data.p : "", (uint32_t)streams[0].data.len);
  buf_bytes(&report, streams[1].data.p ? streams[1].data.p : "", (uint32_t)streams[1].data.len);
  buf_u8(&report, (uint8_t)workspace);
  sandbox_send_frame(sock, 'R', report.p, (uint32_t)report.len);
  free(report.p);
  free(streams[0].data.p);
  free(streams[1].data.p);
}

/* The report of a case that was not run: what an earlier one left could not be removed. */
static void report_not_reset(int sock) {
  static const char why[] = "what an earlier case left in the workspace or /tmp could not be removed";
  struct buf report = { 0 };
  buf_i32(&report, -1);
  buf_i32(&report, 0);
  for (int i = 0; i < 4; i++) buf_u8(&report, 0);
  for (int i = 0; i < 5; i++) buf_u64(&report, 0);
  buf_bytes(&report, why, (uint32_t)strlen(why));
  buf_bytes(&report, "", 0);
  buf_bytes(&report, "", 0);
  buf_u8(&report, WORKSPACE_NOT_RESET);
  sandbox_send_frame(sock, 'R', report.p, (uint32_t)report.len);
  free(report.p);
}

static void write_files(int sock, const struct request *r) {
  for (uint32_t i = 0; i < r->file_count; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/workspace/%s", r->file_names[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, r->file_data[i], r->file_sizes[i])) sandbox_fail(sock, "write a source file");
    close(fd);
  }
}

void sandbox_serve(int sock, const struct sandbox_config *config) {
  cfg = config;
  frames_as_lines = config->batch;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  signal_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  uint32_t size;
  if (read_all(sock, &size, 4)) _exit(0);
  if (size > MAX_FRAME) _exit(1);
  char *data = malloc(size ? size : 1);
  if (!data || read_all(sock, data, size)) _exit(1);
  struct request r;
  const char *why = parse_request(data, size, &r);
  if (why) {
    char text[256];
    snprintf(text, sizeof text, "refused the request: %s", why);
    sandbox_send_frame(sock, 'F', text, (uint32_t)strlen(text));
    _exit(0);
  }
  free(data);
  write_files(sock, &r);
  int workspace = open("/workspace", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (workspace < 0) sandbox_fail(sock, "open the workspace");
  struct name_set kept = { 0 };
  name_set_read(&kept, workspace);
  for (uint32_t i = 0; i < r.step_count; i++) {
    if (i > 0) {
      uint8_t decision = 0;
      if (cfg->batch) decision = compile_failed ? 's' : 'c';
      else if (read_all(sock, &decision, 1)) decision = 's';
      if (decision != 'c') _exit(0);
      if (fresh_scratch(&kept, last_uid, r.steps[i - 1].kind == 1)) {
        report_not_reset(sock);
        continue;
      }
    }
    run_step(sock, &r, &r.steps[i]);
    /* What the compiler made is the program: kept for every case. */
    if (r.steps[i].kind == 0) name_set_read(&kept, workspace);
  }
  if (!cfg->batch) {
    uint8_t decision;
    ssize_t ignored = read(sock, &decision, 1);
    (void)ignored;
  }
  _exit(0);
}
