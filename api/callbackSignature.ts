// Signed callbacks: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with a secret per token.
// A receiver recomputes the HMAC with its secret (GET /v1/callback-secret) and refuses a mismatch or an old t.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-signature';

/** The secret of one owner, derived from the service's signing key (no per-token state to store or share). */
export function callbackSecret(signingKey: string, owner: string): string {
  return createHmac('sha256', signingKey).update(`callback-secret:${owner}`).digest('base64url');
}

export function signatureHeader(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/** The documented check: a v1 HMAC over `${t}.${body}` that matches, and t within `toleranceSeconds` of now. */
export function verifySignature(secret: string, header: string | undefined, body: string, nowSeconds = Math.floor(Date.now() / 1000), toleranceSeconds = 300): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(parts.v1 ?? '')) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(parts.v1, 'hex'));
}
