// A broken runner environment for one kind of job, made outside the product (no test hook in it): the
// sandbox program the worker starts fails for jobs whose id starts with
//   poison-    the sandbox dies (SIGSEGV) before it reports anything: a crash on every delivery;
//   failing-   the program cannot start (docker: the runner has no launcher; process: the job's PATH leads
//              nowhere), which the judge reports as internal_error.
// Every other job runs normally. process: a SANDBOX_SUPERVISOR that stands between the worker and the real
// supervisor, reading the frames both ways (runner/sandbox/supervisor.c); docker: an image built FROM the runner
// image whose entrypoint wraps the runner.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUPERVISOR_BINARY } from '../../worker/transports/processTransport.js';
import { RUNNER_IMAGE } from './services.js';

export interface FaultyRunner {
  /** Environment of a worker that should use the broken runner. */
  env: Record<string, string>;
  remove(): Promise<void>;
}

// The job frame carries the job id as its label; the request's PATH entry is length-prefixed.
const SUPERVISOR_WRAPPER = `#!/usr/bin/python3
import struct, subprocess, sys, threading
real = subprocess.Popen([REAL_SUPERVISOR] + sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, lock = sys.stdout.buffer, threading.Lock()
def frames(stream):
    while True:
        head = stream.read(4)
        if len(head) < 4:
            return
        yield head + stream.read(struct.unpack('<I', head)[0])
def send(frame):
    with lock:
        out.write(frame)
        out.flush()
def upstream():
    for frame in frames(real.stdout):
        send(frame)
threading.Thread(target=upstream, daemon=True).start()
for frame in frames(sys.stdin.buffer):
    job_id, kind = struct.unpack('<IB', frame[4:9])
    if kind == ord('J'):
        label = frame[9 + 16:9 + 16 + struct.unpack('<I', frame[9 + 12:9 + 16])[0]].decode()
        if label.startswith('poison-'):
            send(struct.pack('<IIBiI', 13, job_id, ord('E'), 11, 0))
            continue
        if label.startswith('failing-'):
            old, new = b'PATH=/usr/local/bin:/usr/bin:/bin', b'PATH=/nonexistent'
            body = frame[4:].replace(struct.pack('<I', len(old)) + old, struct.pack('<I', len(new)) + new)
            frame = struct.pack('<I', len(body)) + body
    real.stdin.write(frame)
    real.stdin.flush()
real.stdin.close()
real.wait()
`;

// In the container this shell is pid 1, which a signal with the default action does not kill: the crash is a child's.
const ENTRYPOINT_WRAPPER = `#!/bin/sh
job="$(cat)"
case "$job" in
  *'"id":"poison-'*) sh -c 'kill -SEGV $$'; exit $? ;;
  *'"id":"failing-'*) export SANDBOX_EXEC=/nonexistent/sandbox-exec ;;
esac
printf '%s' "$job" | node /opt/runner/runner.js "$@"
`;

export async function faultyRunner(mode: string): Promise<FaultyRunner> {
  const dir = mkdtempSync(join(tmpdir(), 'faulty-runner-'));
  if (mode === 'process') {
    const wrapper = join(dir, 'sandbox-supervisor');
    writeFileSync(wrapper, SUPERVISOR_WRAPPER.replace('REAL_SUPERVISOR', JSON.stringify(SUPERVISOR_BINARY)));
    chmodSync(wrapper, 0o755);
    chmodSync(dir, 0o755);
    return {
      env: { SANDBOX_SUPERVISOR: wrapper },
      remove: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (mode !== 'docker') throw new Error(`no faulty runner for the ${mode} transport`);
  const tag = `code-runner-faulty:${randomBytes(4).toString('hex')}`;
  writeFileSync(join(dir, 'entrypoint.sh'), ENTRYPOINT_WRAPPER);
  writeFileSync(
    join(dir, 'Dockerfile'),
    `FROM ${RUNNER_IMAGE}\nCOPY entrypoint.sh /opt/faulty/entrypoint.sh\nENTRYPOINT ["/bin/sh", "/opt/faulty/entrypoint.sh"]\n`,
  );
  try {
    execFileSync('docker', ['build', '-q', '-t', tag, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    // No warm pool: the wrapper reads the job before starting the runner, so a pooled container never gets ready.
    env: { RUNNER_IMAGE: tag, POOL_SIZE: '0' },
    remove: async () => void execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' }),
  };
}
