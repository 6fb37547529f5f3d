// The API's pure pieces: Ruby-compatible base64, Judge0's argument splitting and status mapping, callback
// signatures and the private-address check. No services.
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { signatureHeader, verifySignature } from '../../api/callbackSignature.js';
import { isPrivateAddress, parseCallbackUrl } from '../../api/callbackTarget.js';
import { decode64, encode64, judge0Status } from '../../api/judge0Format.js';
import { splitArguments } from '../../api/shellWords.js';
import { DEFAULT_CAPS } from '../../core/protocol/limits.js';
import type { JobResult } from '../../core/protocol/result.js';

describe('Judge0 formats', () => {
  it("encodes as Ruby's Base64.encode64 (a newline every 60 characters and at the end) and decodes leniently", () => {
    expect(encode64('hello\n')).toBe('aGVsbG8K\n');
    expect(encode64('')).toBe('');
    const long = encode64('x'.repeat(100));
    expect(long.split('\n').map((l) => l.length)).toEqual([60, 60, 16, 0]);
    expect(decode64(long)).toBe('x'.repeat(100));
    expect(decode64(' aGVs\r\nbG8K ')).toBe('hello\n');
  });

  it('splits command_line_arguments as a shell would, without expanding anything', () => {
    expect(splitArguments(`a "b c" 'd e' f\\ g "h\\"i" $HOME`)).toEqual(['a', 'b c', 'd e', 'f g', 'h"i', '$HOME']);
    expect(splitArguments('   ')).toEqual([]);
    expect(splitArguments('""')).toEqual(['']);
  });

  it('maps verdicts to Judge0 statuses, the limits without a status of their own named in the message', () => {
    const r = (over: Partial<JobResult>) => ({ status: 'runtime_error', signal: null, exitCode: null, message: null, ...over }) as JobResult;
    expect(judge0Status(r({ signal: 'SIGSEGV' })).id).toBe(7);
    expect(judge0Status(r({ signal: 'SIGKILL' })).id).toBe(12);
    expect(judge0Status(r({ exitCode: 2 }))).toEqual({ id: 11, message: 'Exited with error status 2' });
    expect(judge0Status(r({ status: 'memory_limit_exceeded', message: 'memory limit of 64 MB exceeded' }))).toEqual({ id: 12, message: 'memory limit exceeded: memory limit of 64 MB exceeded' });
    expect(judge0Status(r({ status: 'output_limit_exceeded', message: 'output exceeded 10 bytes on a stream' })).id).toBe(8);
    expect(judge0Status(r({ status: 'rejected' })).id).toBe(13);
  });
});

describe('callbacks', () => {
  it('signatures verify with the secret, the body and a fresh timestamp only', () => {
    const now = 1_800_000_000;
    const header = signatureHeader('s3cret', '{"a":1}', now);
    expect(verifySignature('s3cret', header, '{"a":1}', now)).toBe(true);
    expect(verifySignature('s3cret', header, '{"a":2}', now)).toBe(false);
    expect(verifySignature('other', header, '{"a":1}', now)).toBe(false);
    expect(verifySignature('s3cret', header, '{"a":1}', now + 301)).toBe(false);
    expect(verifySignature('s3cret', header.replace(`t=${now}`, `t=${now + 1}`), '{"a":1}', now)).toBe(false);
    for (const bad of [undefined, '', 't=1', 'v1=00', `t=${now},v1=zz`]) expect(verifySignature('s3cret', bad, '{"a":1}', now)).toBe(false);
  });

  it('knows private, loopback, link-local and mapped addresses from public ones', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect([a, isPrivateAddress(a)]).toEqual([a, false]);
    expect(() => parseCallbackUrl('file:///etc/passwd')).toThrow(/http/);
    expect(() => parseCallbackUrl('http://user:pw@example.com/')).toThrow(/credentials/);
  });
});

describe('configuration', () => {
  it("takes the workers' operator caps from the same variables, and lists every problem", () => {
    expect(loadApiConfig({}).caps).toEqual(DEFAULT_CAPS);
    expect(loadApiConfig({ MAX_CODE_BYTES: '1234' }).caps.maxCodeBytes).toBe(1234);
    expect(() => loadApiConfig({ API_PORT: '70000', MAX_QUEUE_SIZE: '0', CALLBACK_ALLOW_PRIVATE: 'yes' })).toThrow(/API_PORT[\s\S]*MAX_QUEUE_SIZE[\s\S]*CALLBACK_ALLOW_PRIVATE/);
    expect(loadApiConfig({ API_TOKENS: 'alpha-token, beta-token  gamma-token' }).tokens).toEqual(['alpha-token', 'beta-token', 'gamma-token']);
  });
});
