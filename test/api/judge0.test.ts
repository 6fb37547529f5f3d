// Judge0 CE 1.13.1 compatibility: the calls judge0-python (the official SDK) and the Judge0 IDE make, replayed
// in their order over real HTTP against real workers, with every field's type checked as those clients (and
// the SDK's pydantic models) read it.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ALL_FIELDS, DEFAULT_FIELDS } from '../../api/judge0Format.js';
import { DEFAULT_CAPS, DEFAULT_LIMITS } from '../../core/protocol/limits.js';
import { apiSuite, call } from './apiHarness.js';

const suite = apiSuite();

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** judge0-python strips the newlines of Ruby's encode64 before decoding. */
const unb64 = (s: string) => Buffer.from(s.replaceAll('\n', ''), 'base64').toString('utf8');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The SDK parses dates with %Y-%m-%dT%H:%M:%S.%fZ. */
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DECIMAL = /^\d+\.\d+$/;

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const int: Check = (v) => Number.isInteger(v);
const nullable = (c: Check): Check => (v) => v === null || c(v);
const bool: Check = (v) => typeof v === 'boolean';
const decimal: Check = (v) => typeof v === 'string' && DECIMAL.test(v);

/** fields=* of a finished submission that ran, type by type. */
const FINISHED_TYPES: Record<string, Check> = {
  source_code: str, language_id: int, stdin: nullable(str), expected_output: nullable(str), stdout: nullable(str), status_id: int,
  created_at: (v) => typeof v === 'string' && DATE.test(v), finished_at: (v) => typeof v === 'string' && DATE.test(v),
  time: decimal, memory: int, stderr: nullable(str), token: (v) => typeof v === 'string' && UUID_V4.test(v), number_of_runs: int,
  cpu_time_limit: decimal, cpu_extra_time: decimal, wall_time_limit: decimal, memory_limit: int, stack_limit: nullable(int),
  max_processes_and_or_threads: int, enable_per_process_and_thread_time_limit: bool, enable_per_process_and_thread_memory_limit: bool,
  max_file_size: int, compile_output: nullable(str), exit_code: int, exit_signal: nullable(int), message: nullable(str), wall_time: decimal,
  compiler_options: nullable(str), command_line_arguments: nullable(str), redirect_stderr_to_stdout: bool, callback_url: nullable(str),
  additional_files: nullable(str), enable_network: bool,
  status: (v) => typeof v === 'object' && v !== null && int((v as { id: unknown }).id) && str((v as { description: unknown }).description),
  language: (v) => typeof v === 'object' && v !== null && int((v as { id: unknown }).id) && str((v as { name: unknown }).name),
};

function expectTypes(submission: Record<string, unknown>, types: Record<string, Check>) {
  expect(Object.keys(submission)).toEqual(Object.keys(types));
  const wrong = Object.entries(types).filter(([k, check]) => !check(submission[k])).map(([k]) => `${k}=${JSON.stringify(submission[k])}`);
  expect(wrong).toEqual([]);
}

/** The clients' loop: read the submission until its status is past In Queue (1) and Processing (2). */
async function pollUntilDone(url: string, token: string, query: string, timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(`${url}/submissions/${token}?${query}`);
    expect(res.status).toBe(200);
    if (res.body.status.id > 2) return res.body;
    if (Date.now() > deadline) throw new Error(`submission ${token} still ${JSON.stringify(res.body.status)} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe('Judge0 CE 1.13.1 API', () => {
  it('judge0-python: construction, base64 submit without wait, poll with fields=*, batch, wait=true', async () => {
    const api = await suite.start({ workers: 1 });

    // Construction: languages, config_info (all 39 keys required by the SDK), about (picks its alias table).
    const languages = await call(`${api.url}/languages`);
    expect(languages.status).toBe(200);
    for (const l of languages.body) expect(Object.keys(l).sort()).toEqual(['id', 'name']);
    const names = languages.body.map((l: { name: string }) => l.name);
    expect(names).toEqual([...names].sort((a: string, b: string) => a.localeCompare(b)));
    expect(languages.body.map((l: { id: number }) => l.id)).toEqual(expect.arrayContaining([71, 63, 50, 48, 49, 54, 52, 53, 62, 46]));
    expect(languages.body.find((l: { id: number }) => l.id === 71).name).toMatch(/^Python \(\d+\.\d+\.\d+\)$/);
    expect(languages.body.find((l: { id: number }) => l.id === 54).name).toMatch(/^C\+\+ \(GCC \d+\.\d+\.\d+\)$/);

    const config = await call(`${api.url}/config_info`);
    expect(Object.keys(config.body)).toHaveLength(39);
    // Our real limits: the defaults and operator caps the workers apply.
    expect(config.body).toMatchObject({
      max_queue_size: 100, cpu_time_limit: DEFAULT_LIMITS.timeLimitMs / 1000, max_cpu_time_limit: DEFAULT_CAPS.maxTimeLimitMs / 1000,
      memory_limit: DEFAULT_LIMITS.memoryLimitMb * 1024, max_memory_limit: DEFAULT_CAPS.maxMemoryLimitMb * 1024, enable_wait_result: true, max_submission_batch_size: 20,
    });
    for (const [k, v] of Object.entries(config.body)) expect([k, typeof v === 'number' || typeof v === 'boolean' || Array.isArray(v)]).toEqual([k, true]);
    expect((await call(`${api.url}/about`)).body).toMatchObject({ version: '1.13.1' });

    // Submit without waiting: 201 {token}, a UUID v4.
    const created = await call(`${api.url}/submissions?base64_encoded=true&wait=false`, {
      method: 'POST', json: { source_code: b64('import sys\nprint(input()[::-1], sys.argv[1:])\n'), language_id: 71, stdin: b64('olleh'), expected_output: b64("hello ['x', 'y z']\n"), command_line_arguments: 'x "y z"' },
    });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body)).toEqual(['token']);
    expect(created.body.token).toMatch(UUID_V4);

    const done = await pollUntilDone(api.url, created.body.token, 'base64_encoded=true&fields=*');
    expectTypes(done, FINISHED_TYPES);
    expect(Object.keys(done)).toEqual(ALL_FIELDS);
    expect(done).toMatchObject({ status_id: 3, status: { id: 3, description: 'Accepted' }, language: { id: 71 }, exit_code: 0, exit_signal: null, token: created.body.token });
    expect(unb64(done.stdout)).toBe("hello ['x', 'y z']\n");
    expect(unb64(done.source_code)).toContain('argv');
    expect(done.stdout).toMatch(/\n$/); // Ruby's encode64

    // Batch: in request order, a bad one answered in place with its errors; 201 because one was valid.
    const batch = await call(`${api.url}/submissions/batch?base64_encoded=true`, {
      method: 'POST', json: { submissions: [{ source_code: b64('print(1)'), language_id: 71 }, { source_code: b64('x'), language_id: 123456789 }, { source_code: b64('echo two'), language_id: 46 }] },
    });
    expect(batch.status).toBe(201);
    expect(batch.body[0].token).toMatch(UUID_V4);
    expect(batch.body[1]).toEqual({ language_id: ["language with id 123456789 doesn't exist"] });
    expect(batch.body[2].token).toMatch(UUID_V4);
    const tokens = [batch.body[0].token, batch.body[2].token];
    await Promise.all(tokens.map((t) => pollUntilDone(api.url, t, 'base64_encoded=true')));
    const read = await call(`${api.url}/submissions/batch?tokens=${tokens[0]},00000000-0000-4000-8000-000000000000,${tokens[1]}&base64_encoded=true&fields=*`);
    expect(read.status).toBe(200);
    expect(read.body.submissions[1]).toBeNull();
    for (const s of [read.body.submissions[0], read.body.submissions[2]]) expectTypes(s, FINISHED_TYPES);
    expect(read.body.submissions.filter(Boolean).map((s: { stdout: string }) => unb64(s.stdout))).toEqual(['1\n', 'two\n']);

    // wait=true: 201 with the default fields of the finished submission.
    const waited = await call(`${api.url}/submissions?base64_encoded=true&wait=true`, { method: 'POST', json: { source_code: b64('print("waited")'), language_id: 71 } });
    expect(waited.status).toBe(201);
    expect(Object.keys(waited.body)).toEqual(DEFAULT_FIELDS);
    expectTypes(waited.body, Object.fromEntries(DEFAULT_FIELDS.map((f) => [f, FINISHED_TYPES[f]])));
    expect(unb64(waited.body.stdout)).toBe('waited\n');
    expect(waited.body.status).toEqual({ id: 3, description: 'Accepted' });
  });

  it('the Judge0 IDE: base64 submit, poll the default fields while In Queue or Processing, a language by id; plain text too', async () => {
    const api = await suite.start({ workers: 1 });
    const lang = await call(`${api.url}/languages/54`);
    expect(lang.body).toMatchObject({ id: 54, is_archived: false, source_file: 'main.cpp' });
    expect(lang.body.compile_cmd).toContain('g++');
    const created = await call(`${api.url}/submissions?base64_encoded=true&wait=false`, {
      method: 'POST', json: { source_code: b64('#include <cstdio>\nint main(){int a,b;scanf("%d %d",&a,&b);printf("%d\\n",a+b);}'), language_id: 54, stdin: b64('20 22') },
    });
    const first = await call(`${api.url}/submissions/${created.body.token}?base64_encoded=true`);
    expect(Object.keys(first.body)).toEqual(DEFAULT_FIELDS);
    expect([1, 2, 3]).toContain(first.body.status.id);
    const done = await pollUntilDone(api.url, created.body.token, 'base64_encoded=true');
    expect(done.status.id).toBe(3);
    expect(unb64(done.stdout)).toBe('42\n');
    expect(done.time).toMatch(DECIMAL);
    expect(Number.isInteger(done.memory)).toBe(true);

    // Without base64 (v1.13.1's default), text comes and goes as it is.
    const plain = await call(`${api.url}/submissions?wait=true&fields=stdout,status_id,time,language`, { method: 'POST', json: { source_code: 'echo "$((6*7))"', language_id: '46' } });
    expect(plain.body).toMatchObject({ stdout: '42\n', status_id: 3, language: { id: 46 } });
    expect(Object.keys(plain.body)).toEqual(['stdout', 'status_id', 'time', 'language']);
  });

  it("refuses what Judge0 refuses, with its status codes and bodies, and queues nothing", async () => {
    const api = await suite.start();
    const post = (json: unknown, query = '') => call(`${api.url}/submissions${query}`, { method: 'POST', json });
    expect(await post({})).toMatchObject({ status: 422, body: { source_code: ["can't be blank"], language_id: ["can't be blank"] } });
    expect(await post({ source_code: 'x', language_id: 71, wall_time_limit: DEFAULT_CAPS.maxWallTimeLimitMs / 1000 + 1, memory_limit: 100 })).toMatchObject({
      status: 422, body: { wall_time_limit: [`must be less than or equal to ${DEFAULT_CAPS.maxWallTimeLimitMs / 1000}`], memory_limit: ['must be greater than or equal to 2048'] },
    });
    expect(await post({ source_code: 'x', language_id: 71, enable_network: true, compiler_options: '-O3', number_of_runs: 3 })).toMatchObject({
      status: 422, body: { enable_network: [expect.stringContaining('not allowed')], compiler_options: ['setting compiler options is not allowed'], number_of_runs: [expect.any(String)] },
    });
    expect(await post({ source_code: 'x', language_id: 71 }, '?fields=stdout,foo,bar')).toMatchObject({ status: 400, body: { error: 'invalid fields: [foo, bar]' } });
    expect(await post({ source_code: 'x', language_id: 71, callback_url: 'ftp://example.com/x' })).toMatchObject({ status: 422, body: { callback_url: [expect.stringContaining('http')] } });
    const tooMany = await call(`${api.url}/submissions/batch`, { method: 'POST', json: { submissions: Array.from({ length: 21 }, () => ({ source_code: 'x', language_id: 71 })) } });
    expect(tooMany).toMatchObject({ status: 400, body: { error: 'number of submissions in a batch should be less than or equal to 20' } });
    expect(await call(`${api.url}/submissions/batch`, { method: 'POST', json: { submissions: [] } })).toMatchObject({ status: 400, body: { error: 'there should be at least one submission in a batch' } });
    expect(await call(`${api.url}/submissions/batch`, { method: 'POST', json: { submissions: [{ language_id: 71 }] } })).toMatchObject({ status: 422, body: [{ source_code: ["can't be blank"] }] });
    expect(await call(`${api.url}/submissions/d85cd024-1548-4165-96c7-7bc88673f194`)).toMatchObject({ status: 404, body: { status: 404, error: 'Not Found' } });
    expect(await call(`${api.url}/languages/9999`)).toMatchObject({ status: 404 });
    expect((await call(`${api.url}/statuses`)).body).toHaveLength(14);
    const workers = await call(`${api.url}/workers`);
    expect(Object.keys(workers.body[0])).toEqual(['queue', 'size', 'available', 'idle', 'working', 'paused', 'failed']);
    expect(await api.redis.xlen(api.queue.stream)).toBe(0);
  });
});
