/*
 * The inside of one sandbox, shared by the process transport's supervisor (supervisor.c: a sandbox it made in
 * fresh namespaces) and the docker transport's container entrypoint (executor.c: the container is the sandbox).
 * A sandbox serves exactly one job on a stream socket, in frames of u32 length | u8 type | payload:
 *   in:  the request (u32 length | request, see parse_request in sandbox.c), then after each step's report one
 *        byte: 'c' runs the next step, anything else (or the socket's end) ends the job;
 *   out: 'Y' ready (sent by the caller), 'R' a step's report, 'F' the request was refused or setup failed (text).
 * In batch mode (sandbox_config.batch) the same request comes from a file and the same frames go out as text lines.
 */
#ifndef SANDBOX_H
#define SANDBOX_H
#include <stddef.h>
#include <stdint.h>

struct sandbox_config {
  /* 1: /tmp and /dev/shm are new tmpfs mounts before each step (needs CAP_SYS_ADMIN in the sandbox's mount
   * namespace); 0: what the last step's uid owns is wiped as that uid, and root removes what is left. */
  int remount_scratch;
  long long tmpfs_mb, tmpfs_inodes;
  /* 1: no CAP_KILL (a container): the job is killed through a helper holding its uid; 0: kill(-1) from pid 1. */
  int kill_by_uid;
  /* 1: nobody to ask between steps (a Kubernetes Job's pod): the request is read from the descriptor, every frame
   * goes to stdout as one text line (SANDBOX_FRAME_LINE, then the frame in base64) for the pod log, and every step
   * runs but the cases after a compile step that failed. */
  int batch;
};

/* How a frame's line starts in batch mode's output. */
#define SANDBOX_FRAME_LINE "sandbox-frame:"

/* The sandbox cgroup's counter files (memory.stat, the OOM count, CPU), opened while they are reachable. */
void sandbox_open_counters(const char *memory_dir, const char *cpu_dir, int v2);

/* Serves the job arriving on sock, then exits the process. SIGCHLD must be blocked. */
void sandbox_serve(int sock, const struct sandbox_config *config) __attribute__((noreturn));

void sandbox_send_frame(int fd, uint8_t type, const void *payload, uint32_t n);
/* Reports a failed setup step with errno's text on sock, then exits. */
void sandbox_fail(int sock, const char *what) __attribute__((noreturn));

/* A size- and inode-capped tmpfs (mode: octal text), nosuid and nodev plus flags. */
int sandbox_mount_tmpfs(const char *dst, long long mb, long long inodes, const char *mode, unsigned long flags);

/* Wire helpers. */
struct buf {
  char *p;
  size_t len, cap;
};
void buf_put(struct buf *b, const void *data, size_t n);
void buf_u8(struct buf *b, uint8_t v);
void buf_u32(struct buf *b, uint32_t v);
void buf_i32(struct buf *b, int32_t v);
void buf_u64(struct buf *b, uint64_t v);
void buf_bytes(struct buf *b, const void *data, uint32_t n);
void buf_drop(struct buf *b, size_t n);
int write_all(int fd, const void *data, size_t n);
int read_all(int fd, void *data, size_t n);
/* Appends what a non-blocking fd holds now; 0 once it reached its end (or failed), 1 while it is open. */
int buf_read_available(int fd, struct buf *b);
long long now_ms(void);
/* The number after "key " on a line of a cgroup file; -1 when absent. */
long long keyed_value(const char *text, const char *key);

#endif
