// The dead-letter stream: entries that could not be parsed or kept failing, with the reason, kept for a person.
import type { Redis } from 'ioredis';
import { deadLetterKey } from './keys.js';

export interface DeadLetter {
  entryId: string;
  reason: string;
  fields: Record<string, string>;
  deliveries: number;
  worker: string;
}

export async function sendToDeadLetter(redis: Redis, streamKey: string, d: DeadLetter): Promise<void> {
  await redis.xadd(
    deadLetterKey(streamKey), '*',
    'entryId', d.entryId, 'reason', d.reason, 'fields', JSON.stringify(d.fields),
    'deliveries', String(d.deliveries), 'worker', d.worker, 'at', new Date().toISOString(),
  );
}
