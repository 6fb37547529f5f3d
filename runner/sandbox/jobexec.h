/*
 * What every process of user code goes through between fork and exec, shared by the one-shot launcher
 * (sandbox-exec, inside containers) and the sandbox supervisor (sandbox-supervisor, the process transport):
 * kernel limits, a fresh unprivileged uid, no_new_privs, the seccomp filter, and no inherited descriptors
 * beyond stdin, stdout and stderr.
 */
#ifndef JOBEXEC_H
#define JOBEXEC_H
#include <sys/types.h>

struct job_limits {
  long long cpu_ms, nproc, fsize, stack, nofile;
};

/* Job uids are drawn from [JOB_UID_MIN, 1e9) (core/protocol/limits.ts): no account holds one. */
#define JOB_UID_MIN 100000

/* A uid no other job is likely to hold, so per-uid limits (RLIMIT_NPROC) and kill(-1) stay per job. */
uid_t random_job_uid(void);

/*
 * In a freshly forked child: applies the limits, drops to uid/gid for good, installs the seccomp filter and
 * closes every descriptor above 2 but keep_fd (a close-on-exec error pipe). Returns 0 when the caller may exec;
 * -1 with errno set otherwise.
 */
int enter_job(const struct job_limits *limits, uid_t uid, gid_t gid, const char *cwd, int keep_fd);

/*
 * Kills every process owned by uid, from a helper holding the job's uid as its effective uid: reaches setsid'd
 * and double-forked escapees without CAP_KILL.
 */
void kill_job_uid(uid_t uid, gid_t gid);

/* An option's value as a non-negative integer; anything else ends the program (exit 125) saying which option. */
long long parse_count(const char *program, const char *option, const char *value);

/* The seccomp filter of job code (also usable alone). 0 on success. */
int install_job_seccomp(void);

#endif
