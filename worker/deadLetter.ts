// The dead-letter stream: entries that could not be parsed or kept failing, with the reason, kept for a person.
import type { RedisClient } from './redisConnection.js';
import { deadLetterKey } from '../core/keys.js';

export interface DeadLetter {
  entryId: string;
  reason: string;
  fields: Record<string, string>;
  deliveries: number;
  worker: string;
}

/** What a dead letter keeps of each field: enough for a person to recognise the job, never a copy of a flood. */
export const DEAD_LETTER_FIELD_BYTES = 65536;
const DEAD_LETTER_FIELDS = 16;

function boundedFields(fields: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields).slice(0, DEAD_LETTER_FIELDS)) {
    kept[name.slice(0, 256)] = value.length > DEAD_LETTER_FIELD_BYTES
      ? `${value.slice(0, DEAD_LETTER_FIELD_BYTES)}… [cut: ${Buffer.byteLength(value)} bytes in the entry]`
      : value;
  }
  return kept;
}

/** Adds a dead letter; the stream keeps the newest `maxLen`. */
export async function sendToDeadLetter(redis: RedisClient, streamKey: string, maxLen: number, d: DeadLetter): Promise<void> {
  await redis.xadd(
    deadLetterKey(streamKey), 'MAXLEN', maxLen, '*',
    'entryId', d.entryId, 'reason', d.reason, 'fields', JSON.stringify(boundedFields(d.fields)),
    'deliveries', String(d.deliveries), 'worker', d.worker, 'at', new Date().toISOString(),
  );
}
