// Who is calling: the token from Judge0's X-Auth-Token header (or query parameter) or Authorization: Bearer,
// reduced to an owner key that scopes job ids and the rate limit. The limit lives in Redis so every replica
// counts the same requests.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../worker/redisConnection.js';
import { apiRateKey } from '../core/keys.js';

/** The owner key of requests without a token on an open API. */
export const OPEN_OWNER = 'open';

export function ownerOf(token: string | null): string {
  return token === null ? OPEN_OWNER : createHash('sha256').update(token).digest('hex').slice(0, 20);
}

export function tokenOf(headers: Record<string, string | string[] | undefined>, query: unknown): string | null {
  const header = headers['x-auth-token'];
  if (typeof header === 'string' && header) return header;
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (m) return m[1];
  }
  const q = (query as Record<string, unknown> | undefined)?.['X-Auth-Token'];
  return typeof q === 'string' && q ? q : null;
}

/** Constant-time membership, so response timing does not reveal how much of a token was right. */
export function tokenAccepted(token: string, tokens: string[]): boolean {
  const t = createHash('sha256').update(token).digest();
  let found = false;
  for (const candidate of tokens) {
    if (timingSafeEqual(t, createHash('sha256').update(candidate).digest())) found = true;
  }
  return found;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

const WINDOW_MS = 60_000;

/** A fixed one-minute window per owner: INCR and its expiry in one script. */
export class RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    readonly perMinute: number,
  ) {}

  async hit(owner: string): Promise<RateDecision> {
    const window = Math.floor(Date.now() / WINDOW_MS);
    const [count, pttl] = (await this.redis.eval(HIT, 1, apiRateKey(owner, window), String(WINDOW_MS))) as [number, number];
    const resetSeconds = Math.max(1, Math.ceil((pttl > 0 ? pttl : WINDOW_MS) / 1000));
    return { allowed: count <= this.perMinute, limit: this.perMinute, remaining: Math.max(0, this.perMinute - count), resetSeconds };
  }
}
