/*
 * What a step leaves in the directories a job may write (the workspace, /tmp, /dev/shm), and how it goes before the
 * next step: shared by the sandboxes (sandbox.c) and the one-shot launcher (sandbox-exec.c).
 *
 * A case starts from exactly the workspace the compile step produced: right after the compile step its output is
 * locked (nothing in it writable by anyone but its owner, the compile step's uid, which no case gets), so a case can
 * only add names at the top of the sticky workspace; those, and everything in the scratch directories, are removed
 * before the next case. Removal needs no recursion and has no depth bound (see clear_tree).
 */
#ifndef SCRATCH_H
#define SCRATCH_H
#include <stddef.h>
#include <sys/types.h>

/* What a compile step may leave in the workspace (its bytes are bounded by the workspace's tmpfs). */
#define MAX_COMPILED_ENTRIES 4096
#define MAX_COMPILED_DEPTH 64

/* A sorted set of names (the workspace's top-level entries a case must find again). */
struct name_set {
  char **items;
  size_t count;
};
/* The entries of the directory open at dirfd ("." and ".." included), sorted; replaces what set held. */
void name_set_read(struct name_set *set, int dirfd);
int name_set_has(const struct name_set *set, const char *name);

/*
 * Removes the entries of the directory open at `top` (not top itself) that are not in `keep`, and everything they
 * hold; with owner != (uid_t)-1 only the top-level entries owned by owner. Each directory met below the top is moved
 * up to `top` under a fresh name and emptied there, so no more than two directories are open at once, the work is
 * linear in the entries and any depth goes. Never follows a link and never leaves top's file system. Returns how
 * many entries it could not remove.
 */
long clear_tree(int top, uid_t owner, const struct name_set *keep);

/*
 * As uid (fully, in a forked helper: no way back to root), clears what uid owns in each directory: exactly what the
 * step could remove, whatever modes it set. Returns the helper's CPU in microseconds.
 */
long long wipe_owned(uid_t uid, gid_t gid, const char *const *dirs, int count);

/* The workspace after a step, as a step report carries it (core/sandbox/wire.ts: WORKSPACE_STATES). */
enum workspace_state {
  WORKSPACE_LOCKED = 0,      /* as it should be (after a compile step: locked) */
  WORKSPACE_TOO_MANY = 2,    /* the compile step left more than MAX_COMPILED_ENTRIES */
  WORKSPACE_TOO_DEEP = 3,    /* ... or nested deeper than MAX_COMPILED_DEPTH */
  WORKSPACE_LOCK_FAILED = 4, /* its output could not be locked */
  WORKSPACE_NOT_RESET = 5,   /* a case not run: what an earlier case left could not be removed */
};

/*
 * As uid (the compile step's, in a forked helper), takes every write bit but the owner's and the set-id bits off
 * what uid made under dir, and counts it against MAX_COMPILED_ENTRIES and MAX_COMPILED_DEPTH.
 */
enum workspace_state lock_compiled(uid_t uid, gid_t gid, const char *dir);

#endif
