// Every Judge0 status a finished submission can have, each produced by a real program on a real worker and
// read through the Judge0 API: 3-12 from programs that pass, fail or die by a signal, 13 from a worker whose
// runner is broken (test/support/faultyRunner.ts).
import { describe, expect, it } from 'vitest';
import { faultyRunner } from '../support/faultyRunner.js';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();

const C = (body: string) => `#include <stdio.h>\n#include <stdlib.h>\n#include <signal.h>\nint main(void) {\n${body}\n}\n`;

const PROGRAMS: { want: number; what: string; submission: Record<string, unknown>; message?: RegExp }[] = [
  { want: 3, what: 'accepted', submission: { language_id: 71, source_code: 'print(input())', stdin: 'same', expected_output: 'same' } },
  { want: 4, what: 'wrong answer', submission: { language_id: 71, source_code: 'print("other")', expected_output: 'same' } },
  { want: 5, what: 'CPU time limit', submission: { language_id: 71, source_code: 'while True: pass', cpu_time_limit: 0.3, wall_time_limit: 5 } },
  { want: 6, what: 'compile error', submission: { language_id: 50, source_code: 'int main( {' } },
  { want: 7, what: 'SIGSEGV', submission: { language_id: 50, source_code: C('volatile int *p = 0; *p = 1; return 0;') } },
  { want: 8, what: 'SIGXFSZ: a file over the size limit', submission: { language_id: 50, source_code: C('static char buf[1 << 20]; FILE *f = fopen("big", "w"); for (int i = 0; i < 64; i++) fwrite(buf, 1, sizeof buf, f); fclose(f); return 0;') }, message: /limit/ },
  { want: 9, what: 'SIGFPE', submission: { language_id: 50, source_code: C('int zero = atoi("0"); printf("%d\\n", 100 / zero); return 0;') } },
  { want: 10, what: 'SIGABRT', submission: { language_id: 50, source_code: C('abort();') } },
  { want: 11, what: 'non-zero exit', submission: { language_id: 71, source_code: 'import sys\nsys.exit(3)' }, message: /^Exited with error status 3$/ },
  { want: 12, what: 'another signal', submission: { language_id: 50, source_code: C('raise(SIGUSR1); return 0;') } },
  { want: 12, what: 'memory limit (no Judge0 status of its own: the message says)', submission: { language_id: 71, source_code: 'x = bytearray(200 * 1024 * 1024)\nprint(len(x))', memory_limit: 65536 }, message: /memory limit/ },
];

describe('Judge0 statuses from real programs', () => {
  it('3 accepted, 4 wrong answer, 5 time limit, 6 compile error, 7-10 by signal, 11 exit code, 12 other', async () => {
    const api = await suite.start({ workers: 1 });
    const answers = await Promise.all(PROGRAMS.map((p) =>
      call(`${api.url}/submissions?wait=true&fields=status_id,status,message,exit_code,exit_signal,compile_output,stdout`, { method: 'POST', json: p.submission })));
    const got = answers.map((a, i) => ({ what: PROGRAMS[i].what, status: a.status, id: a.body.status_id, description: a.body.status?.description }));
    expect(got).toEqual(PROGRAMS.map((p, i) => ({ what: p.what, status: 201, id: p.want, description: got[i].description })));
    for (const [i, a] of answers.entries()) {
      if (PROGRAMS[i].message) expect(a.body.message).toMatch(PROGRAMS[i].message!);
    }
    expect(answers[3].body.compile_output).toContain('error');
    expect(answers[4].body.exit_signal).toBe(11);
  });

  it('13 internal error: a worker whose runner cannot start its sandbox launcher', async () => {
    const faulty = await faultyRunner('process');
    try {
      // One delivery: the runner's internal error is final at once instead of after MAX_DELIVERIES redeliveries.
      const api = await suite.start({ workers: 1, workerEnv: { ...faulty.env, MAX_DELIVERIES: '1', CLAIM_IDLE_MS: '1000' } });
      // The broken runner fails jobs whose internal id starts with "failing-": the internal id begins with the client's.
      const sub = await call(`${api.url}/v1/jobs`, { method: 'POST', json: { id: 'failing-1', language: 'python', code: 'print(1)' } });
      expect(sub.status).toBe(202);
      expect((await call(`${api.url}/v1/jobs/failing-1?wait=30`)).body.status).toBe('internal_error');
      const j = await call(`${api.url}/submissions/failing-1?fields=status_id,status,message`);
      expect(j.body).toMatchObject({ status_id: 13, status: { id: 13, description: 'Internal Error' } });
      expect(j.body.message).toEqual(expect.any(String));
    } finally {
      await faulty.remove();
    }
  });
});
