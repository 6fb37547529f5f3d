// A bounded look at one stream entry: its first fields, each cut to a prefix, with their full sizes, read by
// a script inside Redis. The worker decides what to do with an entry (dead-letter it, reject it as oversized)
// from this, without ever loading a payload that may be what crashed the workers before it.
import type { RedisClient } from './redisConnection.js';

/** Bytes of each field's value kept: enough for a job's id and language, which come first. */
export const PEEK_PREFIX_BYTES = 4096;
const PEEK_FIELDS = 16;

const PEEK = `
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
if not entry then return false end
local fields, out = entry[2], {}
local limit = math.min(#fields, 2 * tonumber(ARGV[3]))
for i = 1, limit - 1, 2 do
  out[#out + 1] = string.sub(fields[i], 1, 256)
  out[#out + 1] = string.sub(fields[i + 1], 1, tonumber(ARGV[2]))
  out[#out + 1] = #fields[i + 1]
end
return out`;

export interface PeekedEntry {
  /** Each field's value, cut to PEEK_PREFIX_BYTES (possibly mid-character). */
  fields: Record<string, string>;
  /** Each field's full size in bytes. */
  bytes: Record<string, number>;
}

/** Null when the entry is no longer in the stream. */
export async function peekEntry(redis: RedisClient, streamKey: string, entryId: string): Promise<PeekedEntry | null> {
  const reply = (await redis.eval(PEEK, 1, streamKey, entryId, String(PEEK_PREFIX_BYTES), String(PEEK_FIELDS))) as (string | number)[] | null;
  if (!reply) return null;
  const peeked: PeekedEntry = { fields: {}, bytes: {} };
  for (let i = 0; i + 2 < reply.length; i += 3) {
    peeked.fields[String(reply[i])] = String(reply[i + 1]);
    peeked.bytes[String(reply[i])] = Number(reply[i + 2]);
  }
  return peeked;
}
