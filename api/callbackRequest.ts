// One callback request over a connection whose address was checked by its own lookup (pinnedLookup): no second
// resolution between the check and the connect. Redirects are not followed, and the answer's body is not read
// (a target could send gigabytes): the status is all a delivery needs.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { parseCallbackUrl, pinnedLookup, resolveTarget, systemResolve, type Resolve } from './callbackTarget.js';

export interface CallbackRequest {
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Defaults to the system's resolver. */
  resolve?: Resolve;
}

/** Sends the request and answers the response's status code; throws CallbackRefused for a private target. */
export async function sendCallback(raw: string, r: CallbackRequest): Promise<number> {
  const url = parseCallbackUrl(raw);
  const resolve = r.resolve ?? systemResolve;
  // An address literal is never looked up by the connection: checked here instead.
  if (isIP(url.hostname.replace(/^\[|\]$/g, ''))) await resolveTarget(url.hostname, r.allowPrivate);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((done, fail) => {
    const req = request(url, {
      method: r.method,
      headers: { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) },
      lookup: pinnedLookup(r.allowPrivate, resolve),
      agent: false,
      signal: AbortSignal.timeout(r.timeoutMs),
    }, (res) => {
      done(res.statusCode ?? 0);
      res.destroy();
    });
    req.on('error', fail);
    req.end(r.body);
  });
}
