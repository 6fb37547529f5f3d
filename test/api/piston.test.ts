// Piston v2 compatibility: the npm client piston-client, unchanged, against the API over real HTTP, with real
// workers running the programs; and Piston's own 400 messages for bad requests (nothing queued).
import { execFileSync } from 'node:child_process';
import { JOB_ENV } from '../../core/judge.js';
import { piston } from 'piston-client';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPS } from '../../core/protocol/limits.js';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();

describe('Piston v2 API', () => {
  it('piston-client: runtimes, a python run with its args, a C++ compile and run', async () => {
    const api = await suite.start({ workers: 1 });
    const client = piston({ server: api.url });

    const runtimes = await client.runtimes();
    expect(runtimes).toEqual(expect.arrayContaining([
      expect.objectContaining({ language: 'python', aliases: expect.arrayContaining(['py', 'python3']) }),
      expect.objectContaining({ language: 'c++', aliases: expect.arrayContaining(['cpp', 'g++']), runtime: 'gcc' }),
    ]));
    // Valid semver, whatever the toolchain printed (NASM's 2.16.01 is 2.16.1), so that any range can match it.
    for (const r of runtimes) expect(r.version, r.language).toMatch(/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/);
    expect(runtimes.filter((r: { language: string }) => r.language === 'prolog').map((r: { runtime: string }) => r.runtime).sort()).toEqual(['gprolog', 'swipl']);
    // The versions the worker measured: its jobs run this host's toolchains, as the sandbox's PATH finds them.
    const hostPython = execFileSync('python3', ['--version'], { encoding: 'utf8', env: JOB_ENV }).trim().replace('Python ', '');
    expect(runtimes.find((r: { language: string }) => r.language === 'python').version).toBe(hostPython);

    // piston-client sends its default args ["1","2","3"] and no Content-Type: both must work.
    const py = await client.execute('python', 'import sys\nprint(" ".join(sys.argv[1:]))\nprint(input())', { stdin: 'from stdin', args: ['a b', 'c'] });
    expect(py).toMatchObject({ language: 'python', run: { stdout: 'a b c\nfrom stdin\n', stderr: '', code: 0, signal: null, status: null } });
    expect(py.version).toBe(runtimes.find((r: { language: string }) => r.language === 'python').version);
    expect(py.run.output).toBe(py.run.stdout);
    expect(py.compile).toBeUndefined();
    const defaults = await client.execute('python', 'import sys\nprint(sys.argv[1:])');
    expect(defaults.run.stdout).toBe("['1', '2', '3']\n");

    const cpp = await client.execute('c++', '#include <iostream>\nint main(int c, char** v) { std::cout << "args " << c - 1 << std::endl; return 3; }');
    expect(cpp).toMatchObject({ language: 'c++', compile: { code: 0, signal: null, status: null }, run: { stdout: 'args 3\n', code: 3, status: 'RE' } });
    for (const key of ['cpu_time', 'wall_time', 'memory']) expect(typeof cpp.run[key]).toBe('number');

    // Several files, in Piston's three encodings: the first utf8 one is the entry.
    const multi = await call(`${api.url}/api/v2/execute`, {
      method: 'POST',
      json: {
        language: 'py', version: '3.x',
        files: [
          { name: 'helper.py', content: Buffer.from('WORD = "from base64"\n').toString('base64'), encoding: 'base64' },
          { name: 'main.py', content: 'import helper\nprint(helper.WORD, open("data.txt").read())' },
          { name: 'data.txt', content: Buffer.from('and hex').toString('hex'), encoding: 'hex' },
        ],
      },
    });
    expect(multi).toMatchObject({ status: 200, body: { language: 'python', run: { stdout: 'from base64 and hex\n', code: 0 } } });

    const broken = await client.execute('c++', 'int main() { return }');
    expect(broken.compile.code).not.toBe(0);
    expect(broken.compile.stderr).toContain('error');
    expect(broken.run).toEqual(broken.compile);
  });

  it("answers bad requests with Piston's 400 messages and queues nothing", async () => {
    const api = await suite.start();
    const execute = (body: unknown) => call(`${api.url}/api/v2/execute`, { method: 'POST', json: body });
    const file = [{ content: 'print(1)' }];
    const cases: [unknown, string][] = [
      [{ version: '*', files: file }, 'language is required as a string'],
      [{ language: 'python', files: file }, 'version is required as a string'],
      [{ language: 'python', version: '*' }, 'files is required as an array'],
      [{ language: 'python', version: '*', files: [{}] }, 'files[0].content is required as a string'],
      [{ language: 'python', version: '9.9', files: file }, 'python-9.9 runtime is unknown'],
      [{ language: 'malbolge', version: '*', files: file }, 'malbolge-* runtime is unknown'],
      [{ language: 'python', version: '*', files: [{ content: 'cHJpbnQoMSk=', encoding: 'base64' }] }, 'files must include at least one utf8 encoded file'],
      [{ language: 'python', version: '*', files: file, run_timeout: 'soon' }, 'If specified, run_timeout must be a number'],
      [{ language: 'python', version: '*', files: file, run_timeout: 10_000_000 }, `run_timeout cannot exceed the configured limit of ${DEFAULT_CAPS.maxWallTimeLimitMs}`],
      [{ language: 'python', version: '*', files: file, run_memory_limit: -5 }, 'run_memory_limit must be non-negative'],
    ];
    for (const [body, message] of cases) {
      const res = await execute(body);
      expect({ body, status: res.status, answer: res.body }).toEqual({ body, status: 400, answer: { message } });
    }
    const bad = await call(`${api.url}/api/v2/execute`, { method: 'POST', body: '{"language": ', headers: { 'content-type': 'text/plain' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/not valid JSON/);
    expect(await api.redis.xlen(api.queue.stream)).toBe(0);
  });
});
