// What the worker and its runner sidecar share: one directory (SIDECAR_DIR, a task volume or a pod's emptyDir) and
// nothing else: no port. The sidecar is the runner image's sandbox-executor (runner/sandbox/executor.c, --serve):
//
//   <dir>/.executor.sock       a job per connection, in the frames every sandbox speaks (runner/sandbox/sandbox.h)
//   <dir>/.sidecar-heartbeat   JSON {pid, at, ready, problem?, languages}, rewritten every second while it runs
//
// The directory is mode 1770 (the sidecar sets it): the worker's uid or group may enter it, no job uid can.

export const SIDECAR_SOCKET = '.executor.sock';
export const HEARTBEAT_FILE = '.sidecar-heartbeat';

/** A heartbeat older than this means no sidecar is serving the directory. */
export const HEARTBEAT_STALE_MS = 10_000;
