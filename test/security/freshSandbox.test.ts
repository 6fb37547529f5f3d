// Every job gets a sandbox of its own, pooled or not: 50 jobs through one worker, each reporting its network
// and pid namespaces, its cgroup (the inode of the memory cgroup directory it sees) and its uid, give 50
// distinct values of each. The invariant the warm pools (and any faster path after them) must keep.
//
// The kernel hands a freed namespace's inode number to the next namespace it makes, so the test holds every
// job's namespaces open from the host while the job runs (each sleeps a moment for that): a number seen twice
// is then one namespace seen by two jobs.
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOB_UID_MIN } from '../../core/protocol/limits.js';
import { workerStarted } from '../support/jobQueue.js';
import { queueSuite } from '../support/queueSuite.js';
import { dockerAvailable } from '../support/services.js';

const MODES = ['process', ...((await dockerAvailable()) ? ['docker'] : [])];
const JOBS = 50;

const suite = queueSuite();

const IDENTITY = `import json, os
print(json.dumps({
    "net": os.readlink("/proc/self/ns/net"),
    "pid": os.readlink("/proc/self/ns/pid"),
    "cgroup": os.stat("/sys/fs/cgroup/memory").st_ino,
    "uid": os.getuid(),
}), flush=True)
import time
time.sleep(0.5)`;

/** Opens the namespaces of every job process on the host, so none is freed (and its number reused) during the test. */
function holdJobNamespaces(): { stop(): number } {
  const held = new Map<number, number[]>();
  const scan = () => {
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!pid || held.has(pid)) continue;
      try {
        const uid = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1]);
        if (uid < JOB_UID_MIN) continue;
        held.set(pid, [openSync(`/proc/${pid}/ns/net`, 'r'), openSync(`/proc/${pid}/ns/pid`, 'r')]);
      } catch {
        // Gone already.
      }
    }
  };
  const timer = setInterval(scan, 20);
  return {
    stop() {
      clearInterval(timer);
      for (const fds of held.values()) fds.forEach((fd) => closeSync(fd));
      return held.size;
    },
  };
}

describe.each(MODES)('a fresh sandbox per job (%s transport, warm pool)', (mode) => {
  it(`${JOBS} jobs through one worker: ${JOBS} network namespaces, pid namespaces, cgroups and uids`, async () => {
    const queue = suite.newQueue();
    const w = queue.startWorker(mode, { POOL_SIZE: '2' });
    await workerStarted(w);
    const holding = holdJobNamespaces();
    let seen: { net: string; pid: string; cgroup: number; uid: number }[];
    try {
      const ids: string[] = [];
      for (let i = 0; i < JOBS; i++) ids.push(await queue.submit({ code: IDENTITY }));
      seen = await Promise.all(ids.map(async (id) => {
        const r = await queue.result(id, 120_000);
        expect(r.status, r.message ?? r.stderr).toBe('accepted');
        return JSON.parse(r.stdout) as { net: string; pid: string; cgroup: number; uid: number };
      }));
    } finally {
      expect(holding.stop()).toBeGreaterThanOrEqual(JOBS);
    }
    const distinct = Object.fromEntries((['net', 'pid', 'cgroup', 'uid'] as const).map((key) => [key, new Set(seen.map((s) => s[key])).size]));
    expect(distinct).toEqual({ net: JOBS, pid: JOBS, cgroup: JOBS, uid: JOBS });
    expect(seen.every((s) => s.uid >= 100_000)).toBe(true);
  });
});
