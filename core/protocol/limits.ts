// One source of truth for job limits: their defaults, and the operator caps a job may not exceed.
// The same names are used in the job schema, the runner, the transports and the README.

export const DEFAULT_LIMITS = {
  timeLimitMs: 2000,
  memoryLimitMb: 256,
  maxProcesses: 64,
  maxOutputBytes: 65536,
  compileTimeLimitMs: 10000,
} as const;

/** The compile step's wall limit: compilers wait on the disk and start JVMs, so well above their CPU limit. */
export function compileWallTimeMs(compileTimeLimitMs: number): number {
  return compileTimeLimitMs * 2 + 2000;
}

/** Wall time defaults to a multiple of CPU time: enough for I/O waits and GC, short enough to stop a sleeper. */
export function defaultWallTimeMs(timeLimitMs: number): number {
  return timeLimitMs * 2 + 1000;
}

export interface OperatorCaps {
  /** The raw `job` field, checked before it is parsed. */
  maxJobBytes: number;
  /** The stored result; a job whose output could pass it is rejected, and escaping is trimmed to fit. */
  maxResultBytes: number;
  /** Compile and every case together, at their limits (wall and CPU). */
  maxJobWallTimeMs: number;
  maxTimeLimitMs: number;
  maxWallTimeLimitMs: number;
  maxCompileTimeLimitMs: number;
  maxMemoryLimitMb: number;
  maxProcesses: number;
  maxOutputBytes: number;
  maxCodeBytes: number;
  maxStdinBytes: number;
  maxFiles: number;
  maxArgs: number;
  /** One command-line argument (Linux refuses one over 128 KiB at exec). */
  maxArgBytes: number;
  /** All command-line arguments together. */
  maxArgsBytes: number;
  /** Expected output of all cases together, like stdin. */
  maxExpectedOutputBytes: number;
  maxTestCases: number;
}

export const DEFAULT_CAPS: OperatorCaps = {
  maxJobBytes: 16 << 20,
  maxResultBytes: 8 << 20,
  // 64 cases at the default limits (5 s wall each) plus a compile fit; 64 cases of 60 s do not.
  maxJobWallTimeMs: 600_000,
  maxTimeLimitMs: 20000,
  maxWallTimeLimitMs: 60000,
  maxCompileTimeLimitMs: 30000,
  maxMemoryLimitMb: 1024,
  maxProcesses: 256,
  maxOutputBytes: 1 << 20,
  maxCodeBytes: 256 * 1024,
  maxStdinBytes: 4 << 20,
  maxFiles: 32,
  maxArgs: 64,
  maxArgBytes: 4096,
  maxArgsBytes: 65536,
  maxExpectedOutputBytes: 4 << 20,
  maxTestCases: 64,
};

/** Env names of the operator caps (read by the worker, documented in the README). */
export const CAP_ENV: Record<keyof OperatorCaps, string> = {
  maxJobBytes: 'MAX_JOB_BYTES',
  maxResultBytes: 'MAX_RESULT_BYTES',
  maxJobWallTimeMs: 'MAX_JOB_WALL_TIME_MS',
  maxTimeLimitMs: 'MAX_TIME_LIMIT_MS',
  maxWallTimeLimitMs: 'MAX_WALL_TIME_LIMIT_MS',
  maxCompileTimeLimitMs: 'MAX_COMPILE_TIME_LIMIT_MS',
  maxMemoryLimitMb: 'MAX_MEMORY_LIMIT_MB',
  maxProcesses: 'MAX_PROCESSES',
  maxOutputBytes: 'MAX_OUTPUT_BYTES',
  maxCodeBytes: 'MAX_CODE_BYTES',
  maxStdinBytes: 'MAX_STDIN_BYTES',
  maxFiles: 'MAX_FILES',
  maxArgs: 'MAX_ARGS',
  maxArgBytes: 'MAX_ARG_BYTES',
  maxArgsBytes: 'MAX_ARGS_BYTES',
  maxExpectedOutputBytes: 'MAX_EXPECTED_OUTPUT_BYTES',
  maxTestCases: 'MAX_TEST_CASES',
};

/** Size of the workspace and /tmp tmpfs in every sandbox. */
export const WORKSPACE_SIZE_MB = 64;
/** Inodes per tmpfs: files and directories cost kernel memory that no size= limit counts. */
export const WORKSPACE_INODES = 16384;
/**
 * Memory a sandbox needs beside the job's own processes: both tmpfs full (their pages stay charged after
 * the job is killed), plus the runner and the launcher. Without it a job could starve the runner.
 */
export const SANDBOX_OVERHEAD_MB = 2 * WORKSPACE_SIZE_MB + 96;
/** Tasks (threads count) the runner and launcher need beside the job's own processes. */
export const SANDBOX_OVERHEAD_TASKS = 48;
/** Compilers start more processes and threads (javac's JVM) than most jobs are allowed. */
export const COMPILE_MAX_PROCESSES = 128;
/**
 * Job uids are drawn from [JOB_UID_MIN, 1e9): no system or service account holds one, so per-uid limits
 * (RLIMIT_NPROC) and kill(-1) stay per job, and anything owned by such a uid is known to be a job's.
 */
export const JOB_UID_MIN = 100_000;
/** Largest single file the job may write (RLIMIT_FSIZE). */
export const MAX_FILE_BYTES = 32 << 20;
/**
 * What a compile step may leave in the workspace (runner/sandbox/scratch.h): every case starts from it, and it is
 * walked once to lock it. Its bytes are bounded by the workspace's tmpfs (WORKSPACE_SIZE_MB).
 */
export const MAX_COMPILED_ENTRIES = 4096;
export const MAX_COMPILED_DEPTH = 64;
/** Compiler diagnostics kept in `compileOutput`. */
export const COMPILE_OUTPUT_BYTES = 65536;

/** The limits a sandbox is sized by: a job's, or (for a warm pool) the most any job may ask for. */
export interface SandboxSize {
  memoryLimitMb: number;
  maxProcesses: number;
}

/** The size warm pools prepare sandboxes for: a job with the default limits, the size most jobs have. */
export const POOLED_SANDBOX_SIZE: SandboxSize = { memoryLimitMb: DEFAULT_LIMITS.memoryLimitMb, maxProcesses: DEFAULT_LIMITS.maxProcesses };

/** What the sandbox's cgroup enforces: the job's memory plus the sandbox's overhead (no swap), and its tasks. */
export function sandboxBudget(size: SandboxSize): { memoryBytes: number; pidsMax: number } {
  return {
    memoryBytes: (size.memoryLimitMb + SANDBOX_OVERHEAD_MB) * 1024 * 1024,
    pidsMax: Math.max(size.maxProcesses, COMPILE_MAX_PROCESSES) + SANDBOX_OVERHEAD_TASKS,
  };
}
