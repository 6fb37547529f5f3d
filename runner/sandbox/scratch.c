/* See scratch.h. */
#define _GNU_SOURCE
#include "scratch.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void *grow(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q) abort();
  return q;
}

static char *copy(const char *s) {
  char *c = strdup(s);
  if (!c) abort();
  return c;
}

static int is_dot(const char *n) { return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])); }

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A listing of the directory open at dirfd from its start (a dup shares the read position, so it is rewound). */
static DIR *list(int dirfd) {
  int fd = dup(dirfd);
  if (fd < 0) return NULL;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return NULL;
  }
  rewinddir(d);
  return d;
}

void name_set_read(struct name_set *set, int dirfd) {
  for (size_t i = 0; i < set->count; i++) free(set->items[i]);
  set->count = 0;
  DIR *d = list(dirfd);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    set->items = grow(set->items, (set->count + 1) * sizeof *set->items);
    set->items[set->count++] = copy(e->d_name);
  }
  if (d) closedir(d);
  if (set->count) qsort(set->items, set->count, sizeof *set->items, by_name);
}

int name_set_has(const struct name_set *set, const char *name) {
  return set && set->count && bsearch(&name, set->items, set->count, sizeof *set->items, by_name) != NULL;
}

/* ---------- clear_tree ---------- */

/* Directories moved up to the top, waiting to be emptied: a queue, so nothing recurses. */
struct queue {
  char **names;
  size_t head, count;
  unsigned long long serial;
};

static void queue_push(struct queue *q, const char *name) {
  q->names = grow(q->names, (q->count + 1) * sizeof *q->names);
  q->names[q->count++] = copy(name);
}

/* Moves the directory `name` in dir up to top under a name no entry has, and queues it. */
static int move_up(int top, int dir, const char *name, struct queue *q) {
  char fresh[64];
  for (;;) {
    snprintf(fresh, sizeof fresh, ".clearing-%llx", q->serial++);
    if (renameat2(dir, name, top, fresh, RENAME_NOREPLACE) == 0) break;
    if (errno != EEXIST) return -1;
  }
  queue_push(q, fresh);
  return 0;
}

/* Removes top's entry `name`: a file at once; a directory once emptied (what it holds that is a directory of this
 * file system is moved up and queued). 0 when it is gone. */
static int remove_entry(int top, const char *name, dev_t dev, struct queue *q) {
  struct stat st;
  if (fstatat(top, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode)) return unlinkat(top, name, 0) == 0 || errno == ENOENT ? 0 : -1;
  if (st.st_dev != dev) return -1;
  /* Its owner may always enter and change it, whatever mode the job left. */
  if (st.st_uid == geteuid()) fchmodat(top, name, 0700, 0);
  int dir = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return -1;
  struct stat opened;
  if (fstat(dir, &opened) || opened.st_ino != st.st_ino || opened.st_dev != dev) {
    close(dir);
    return -1;
  }
  int gone = -1;
  /* Entries removed while a directory is read may hide others from that read: read again while it is not empty. */
  for (int pass = 0; pass < 4; pass++) {
    DIR *d = list(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      if (is_dot(e->d_name)) continue;
      struct stat inner;
      if (fstatat(dir, e->d_name, &inner, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(inner.st_mode) && inner.st_dev == dev) {
        /* Moving a directory to another parent rewrites its "..": its owner makes it writable first. */
        if (inner.st_uid == geteuid()) fchmodat(dir, e->d_name, 0700, 0);
        move_up(top, dir, e->d_name, q);
      } else {
        unlinkat(dir, e->d_name, 0);
      }
    }
    if (d) closedir(d);
    if (unlinkat(top, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
      gone = 0;
      break;
    }
    if (errno != ENOTEMPTY && errno != EEXIST) break;
  }
  close(dir);
  return gone;
}

long clear_tree(int top, uid_t owner, const struct name_set *keep) {
  struct stat top_st;
  if (fstat(top, &top_st)) return 1;
  /* The top's entries are taken first: the directories moved up later join the queue instead. */
  struct queue q = { 0 };
  DIR *d = list(top);
  if (!d) return 1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (is_dot(e->d_name) || name_set_has(keep, e->d_name)) continue;
    struct stat st;
    if (owner != (uid_t)-1 && (fstatat(top, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != owner)) continue;
    queue_push(&q, e->d_name);
  }
  closedir(d);
  long left = 0;
  while (q.head < q.count) {
    char *name = q.names[q.head++];
    if (remove_entry(top, name, top_st.st_dev, &q)) left++;
    free(name);
  }
  free(q.names);
  return left;
}

/* ---------- helpers under a step's uid ---------- */

/* Forks a helper that becomes uid (no way back to root) and runs work(arg); returns its exit code, or -1. */
static int as_uid(uid_t uid, gid_t gid, int (*work)(const void *), const void *arg, long long *cpu_us) {
  pid_t helper = fork();
  if (helper == 0) {
    /* Bounded whatever it meets: the scratch directories are small tmpfs (size- and inode-capped). */
    alarm(20);
    if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) _exit(WORKSPACE_LOCK_FAILED);
    _exit(work(arg));
  }
  if (helper < 0) return -1;
  int st;
  struct rusage ru;
  while (wait4(helper, &st, 0, &ru) < 0) {
    if (errno != EINTR) return -1;
  }
  if (cpu_us) *cpu_us = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct dirs {
  const char *const *paths;
  int count;
  uid_t uid;
};

static int clear_owned(const void *arg) {
  const struct dirs *dirs = arg;
  for (int i = 0; i < dirs->count; i++) {
    int top = open(dirs->paths[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0) continue;
    clear_tree(top, dirs->uid, NULL);
    close(top);
  }
  return 0;
}

long long wipe_owned(uid_t uid, gid_t gid, const char *const *dirs, int count) {
  if (count == 0) return 0;
  struct dirs arg = { dirs, count, uid };
  long long cpu_us = 0;
  as_uid(uid, gid, clear_owned, &arg, &cpu_us);
  return cpu_us;
}

/* The mode a compiled entry keeps: nobody but its owner may write it, and no set-id bit survives. */
static mode_t locked_mode(const struct stat *st) {
  mode_t mode = st->st_mode & 07777 & ~(mode_t)(S_IWGRP | S_IWOTH | S_ISUID | S_ISGID);
  return S_ISDIR(st->st_mode) ? mode | S_IRWXU : mode;
}

/* Walks dir with a stack of at most MAX_COMPILED_DEPTH open directories, locking what the caller owns. */
static int lock_tree(const void *arg) {
  const char *path = arg;
  uid_t self = geteuid();
  int root = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat root_st;
  if (root < 0 || fstat(root, &root_st)) return WORKSPACE_LOCK_FAILED;
  DIR *stack[MAX_COMPILED_DEPTH];
  int depth = 0;
  long entries = 0;
  stack[0] = list(root);
  if (!stack[0]) return WORKSPACE_LOCK_FAILED;
  while (depth >= 0) {
    struct dirent *e = readdir(stack[depth]);
    if (!e) {
      closedir(stack[depth--]);
      continue;
    }
    if (is_dot(e->d_name)) continue;
    if (++entries > MAX_COMPILED_ENTRIES) return WORKSPACE_TOO_MANY;
    int at = dirfd(stack[depth]);
    struct stat st;
    if (fstatat(at, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode)) continue;
    if (st.st_uid == self && fchmodat(at, e->d_name, locked_mode(&st), 0) != 0) return WORKSPACE_LOCK_FAILED;
    if (!S_ISDIR(st.st_mode) || st.st_dev != root_st.st_dev) continue;
    if (depth + 1 >= MAX_COMPILED_DEPTH) return WORKSPACE_TOO_DEEP;
    int sub = openat(at, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* Another owner's directory the caller cannot read holds nothing the caller made. */
    if (sub < 0) continue;
    DIR *d = fdopendir(sub);
    if (!d) return WORKSPACE_LOCK_FAILED;
    stack[++depth] = d;
  }
  return WORKSPACE_LOCKED;
}

enum workspace_state lock_compiled(uid_t uid, gid_t gid, const char *dir) {
  int code = as_uid(uid, gid, lock_tree, dir, NULL);
  return code == WORKSPACE_LOCKED || code == WORKSPACE_TOO_MANY || code == WORKSPACE_TOO_DEEP ? (enum workspace_state)code : WORKSPACE_LOCK_FAILED;
}
