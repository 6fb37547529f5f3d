// Keeps the job stream bounded: entries every consumer group has acknowledged are trimmed, never one that is
// pending (its worker may still store its result, or it may be reclaimed) nor one not yet delivered. One script,
// so the trim point and the trim are atomic: nothing is delivered or acknowledged in between.
import type { RedisClient } from './redisConnection.js';

// For each group the floor is its oldest pending entry, or the entry after its last delivered one; the stream
// keeps everything from the lowest floor on. XTRIM MINID removes the entries below it.
const TRIM_ACKNOWLEDGED = `
local function field(flat, name)
  for i = 1, #flat, 2 do if flat[i] == name then return flat[i + 1] end end
end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function below(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local floor = nil
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name = field(group, 'name')
  local summary = redis.call('XPENDING', KEYS[1], name)
  local candidate
  if tonumber(summary[1]) > 0 then
    candidate = summary[2]
  else
    local ms, seq = string.match(field(group, 'last-delivered-id'), '^(%d+)-(%d+)$')
    candidate = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
  end
  if floor == nil or below(candidate, floor) then floor = candidate end
end
-- No group: nobody has read anything, so nothing is done with.
if floor == nil then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', floor)`;

/** Trims entries every group has acknowledged; returns how many went. */
export async function trimAcknowledged(redis: RedisClient, streamKey: string): Promise<number> {
  return Number(await redis.eval(TRIM_ACKNOWLEDGED, 1, streamKey));
}
