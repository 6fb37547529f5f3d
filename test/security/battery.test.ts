// The hostile-program battery: every attack in attacks.ts through every transport this host runs. Each cell
// asserts the attack's verdict and containment, then that nothing is left running (expectNothingLeft) and
// that the host is untouched (hostWatch.ts). The table attack × transport is printed after the run and
// written to .tmp/security-battery.md.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeJob } from '../../core/protocol/job.js';
import { DIST_DIR } from '../../core/runnerBundle.js';
import { TransportError } from '../../core/errors.js';
import { expectNothingLeft } from '../support/leftovers.js';
import { testOwner } from '../support/sandboxClaims.js';
import { startRedis, type TestRedis } from '../support/redisServer.js';
import { availableTransports, type StartedTransport } from '../support/transports.js';
import { AttackFailed, ATTACKS, type AttackContext } from './attacks.js';
import { HostWatch } from './hostWatch.js';

const TRANSPORTS = await availableTransports();
const TABLE_FILE = join(DIST_DIR, '..', '.tmp', 'security-battery.md');

/** attack → transport → what the cell showed. */
const cells = new Map<string, Map<string, string>>();
const record = (attack: string, transport: string, verdict: string) => {
  if (!cells.has(attack)) cells.set(attack, new Map());
  cells.get(attack)!.set(transport, verdict);
};

function table(): string {
  const names = TRANSPORTS.map((t) => t.name);
  const rows = ATTACKS.map((a) => [a.name, ...names.map((n) => cells.get(a.name)?.get(n) ?? 'not run')]);
  const passed = rows.flatMap((r) => r.slice(1)).filter((c) => c.startsWith('✓')).length;
  return [
    '| attack | ' + names.join(' | ') + ' |',
    '|---|' + names.map(() => '---|').join(''),
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `${passed} of ${ATTACKS.length * names.length} cells contained. AC accepted, WA wrong_answer, RE runtime_error, TLE/MLE/OLE time/memory/output limit exceeded, REJ rejected.`,
  ].join('\n');
}

let host: HostWatch;
let queue: TestRedis;

beforeAll(async () => {
  host = await HostWatch.start();
  queue = await startRedis();
});

afterAll(async () => {
  await queue?.stop();
  await host?.stop();
  const text = table();
  mkdirSync(join(TABLE_FILE, '..'), { recursive: true });
  writeFileSync(TABLE_FILE, `${text}\n`);
  console.log(`\nHostile-program battery (also in ${TABLE_FILE}):\n\n${text}\n`);
});

describe.each(TRANSPORTS.map((t) => [t.name, t] as const))('%s transport', (_name, factory) => {
  let started: StartedTransport;
  let seq = 0;
  const ctx = {} as AttackContext;

  const start = async () => {
    started = await factory.start({ owner: testOwner('security-battery'), sidecarEnv: host.envSecrets });
    if (started.sidecarDir) {
      // Worse than the sidecar leaves it (1770: the worker's alone): world-writable and listable, as if the
      // volume's owner and group were not the worker's. The sidecar's sticky bit stays, as it sets it at start.
      chmodSync(started.sidecarDir, 0o1777);
      host.watchDir(started.sidecarDir);
    }
    // A container sidecar's processes are leftovers of the battery too, should a job's outlive it.
    for (const pid of sidecarContainerPids(started)) host.watchedRoots.add(pid);
    Object.assign(ctx, {
      transport: started.transport,
      host,
      queue,
      run: (job) => started.transport.run(normalizeJob({ id: `battery-${++seq}`, ...job })),
    } satisfies AttackContext);
  };
  const stop = async () => {
    await started?.transport.close();
    await started?.stop?.();
    if (started?.sidecarDir) host.unwatchDir(started.sidecarDir);
  };

  beforeAll(start);
  afterAll(stop);

  for (const attack of ATTACKS) {
    it(attack.name, async () => {
      const before = await host.snapshot();
      let verdict = 'no verdict';
      let failure: unknown = null;
      let problems: string[] = [];
      try {
        const observed = await attack.run(ctx);
        verdict = observed.verdict;
        problems = host.leakedIn(observed.outcomes);
      } catch (err) {
        failure = err;
        if (err instanceof AttackFailed) verdict = err.verdict;
        else if (err instanceof TransportError) verdict = 'transport error';
      }
      try {
        await expectNothingLeft(15_000, started.pooled ?? 0);
      } catch (err) {
        failure ??= err;
      }
      // Always asked, even after a failure: whatever the attack touched is re-baselined for the next cell.
      problems.push(...(await host.problems(before)));
      const contained = failure === null && problems.length === 0;
      record(attack.name, factory.name, `${contained ? '✓' : '✗'} ${verdict}`);
      if (contained) return;
      // An attack that got through may have broken the transport (a sidecar that lost its heartbeat): the next
      // cell gets a fresh one, so that each cell is judged on its own.
      await stop();
      await start();
      if (failure instanceof Error && problems.length) failure.message += `\nand on the host:\n- ${problems.join('\n- ')}`;
      if (failure) throw failure;
      expect(problems, 'the host must be untouched').toEqual([]);
    }, attack.timeoutMs ?? 60_000);
  }
});

/** Pids of the init process of a sidecar container this process started (none for other transports). */
function sidecarContainerPids(s: StartedTransport): number[] {
  if (!s.sidecarDir) return [];
  try {
    const ids = execFileSync('docker', ['ps', '-q', '--filter', `name=sidecar-test-${process.pid}-`], { encoding: 'utf8' }).trim();
    return ids ? ids.split('\n').map((id) => Number(execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', id], { encoding: 'utf8' }).trim())) : [];
  } catch {
    return [];
  }
}
