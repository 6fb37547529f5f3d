// A broken runner environment for one kind of job, made outside the product (no test hook in it): the
// sandbox program the worker starts fails for jobs whose id starts with
//   poison-    the sandbox dies before it reports anything: a crash on every delivery;
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
import { SUPERVISOR_BINARY } from '../../core/sandbox/supervisedSandboxes.js';
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

// In the runner image, in place of the executor (the container's entrypoint): it listens where the worker expects
// the executor, starts the real one on a socket beside it and passes the frames through, looking at the request.
// A job's id reaches the container only in its source (the tests put it there).
const EXECUTOR_WRAPPER = `#!/usr/bin/python3
import os, socket, struct, subprocess, sys, threading, time
path = sys.argv[2]
real = path + '.real'
subprocess.Popen(['/opt/runner/sandbox-executor.real', '--socket', real])
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(1)
inner = socket.socket(socket.AF_UNIX)
for _ in range(2000):
    try:
        inner.connect(real)
        break
    except OSError:
        time.sleep(0.005)
worker, _ = server.accept()
os.unlink(path)
def exactly(s, n):
    data = b''
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data
def pump(src, dst):
    while True:
        data = src.recv(65536)
        if not data:
            return
        dst.sendall(data)
threading.Thread(target=pump, args=(inner, worker), daemon=True).start()
size = exactly(worker, 4)
body = exactly(worker, struct.unpack('<I', size)[0])
if b'poison-' in body:
    sys.exit(139)
if b'failing-' in body:
    old, new = b'PATH=/usr/local/bin:/usr/bin:/bin', b'PATH=/nonexistent'
    body = body.replace(struct.pack('<I', len(old)) + old, struct.pack('<I', len(new)) + new)
inner.sendall(struct.pack('<I', len(body)) + body)
pump(worker, inner)
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
  writeFileSync(join(dir, 'executor'), EXECUTOR_WRAPPER);
  // COPY keeps the mode (the engine's classic builder has no --chmod).
  chmodSync(join(dir, 'executor'), 0o755);
  writeFileSync(
    join(dir, 'Dockerfile'),
    `FROM ${RUNNER_IMAGE}\nUSER root\nRUN mv /opt/runner/sandbox-executor /opt/runner/sandbox-executor.real\nCOPY executor /opt/runner/sandbox-executor\nUSER 1000\n`,
  );
  try {
    execFileSync('docker', ['build', '-q', '-t', tag, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    env: { RUNNER_IMAGE: tag },
    remove: async () => void execFileSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' }),
  };
}
