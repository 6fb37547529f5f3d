// A broken runner environment for one kind of job, made outside the product (no test hook in it): the
// sandbox program the worker starts fails for jobs whose id starts with
//   poison-    the runner dies (SIGSEGV) before it prints anything: a crash on every delivery;
//   failing-   the runner starts without its sandbox launcher and reports internal_error.
// Every other job runs normally. process: a `bwrap` first on the worker's PATH that wraps the real one;
// docker: an image built FROM the runner image whose entrypoint wraps the runner.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNNER_IMAGE } from './services.js';

export interface FaultyRunner {
  /** Environment of a worker that should use the broken runner. */
  env: Record<string, string>;
  remove(): Promise<void>;
}

// bwrap's arguments name the job's cgroups `<deployment>~<owner>@<job id>-<random>`; --setenv after --clearenv survives it.
const BWRAP_WRAPPER = `#!/bin/sh
case "$*" in
  *"@poison-"*) kill -SEGV $$ ;;
  *"@failing-"*)
    for a do
      shift
      set -- "$@" "$a"
      [ "$a" = --clearenv ] && set -- "$@" --setenv SANDBOX_EXEC /nonexistent/sandbox-exec
    done ;;
esac
exec "$REAL_BWRAP" "$@"
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
    const realBwrap = execFileSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'bwrap'), BWRAP_WRAPPER.replace('"$REAL_BWRAP"', `'${realBwrap}'`));
    chmodSync(join(dir, 'bwrap'), 0o755);
    chmodSync(dir, 0o755);
    return {
      // No warm pool: the wrapper tells jobs apart by the sandbox's name, and a pooled sandbox is set up (and named)
      // before its job is known.
      env: { PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, POOL_SIZE: '0' },
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
