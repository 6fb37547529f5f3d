// Keeps a stored result within MAX_RESULT_BYTES. Jobs whose output could pass the cap are rejected up front
// (checkCaps), but JSON escaping can still multiply output sixfold (a control byte becomes \u00XX): such a
// result has its output texts shortened, longest first, until it fits. The verdict was decided on the whole
// output; `resultTrimmed` says the stored texts are shorter than what the program printed.
import type { CaseOutcome, JobResult } from '../core/protocol/result.js';

type Text = 'stdout' | 'stderr' | 'compileOutput';

interface TextField {
  owner: Partial<Record<Text, string>>;
  key: Text;
  /** Bytes it takes inside the JSON, quotes and escapes included. */
  size: number;
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

function textFields(result: JobResult): TextField[] {
  const owners: Partial<Record<Text, string>>[] = [result, ...(result.testCases ?? [])];
  return owners.flatMap((owner) =>
    (['stdout', 'stderr', 'compileOutput'] as const)
      .filter((key) => typeof owner[key] === 'string' && owner[key] !== '')
      .map((key) => ({ owner, key, size: jsonBytes(owner[key]) })),
  );
}

/** Bytes one UTF-16 unit (or a surrogate pair, counted on its first unit) takes in JSON.stringify's UTF-8. */
function escapedBytes(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) return 2;
  if (c < 0x20) return 6;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  const isHigh = c >= 0xd800 && c <= 0xdbff;
  const isLow = c >= 0xdc00 && c <= 0xdfff;
  if (isHigh) {
    const next = text.charCodeAt(i + 1);
    return next >= 0xdc00 && next <= 0xdfff ? 4 : 6;
  }
  if (isLow) {
    const prev = text.charCodeAt(i - 1);
    // The second half of a pair was counted with the first.
    return prev >= 0xd800 && prev <= 0xdbff ? 0 : 6;
  }
  return 3;
}

/** The longest prefix of `text` whose JSON form takes at most `budget` bytes, never splitting a pair. */
function prefixWithin(text: string, budget: number): string {
  let used = 2;
  let i = 0;
  while (i < text.length) {
    const cost = escapedBytes(text, i);
    const units = cost === 4 ? 2 : 1;
    if (used + cost > budget) break;
    used += cost;
    i += units;
  }
  return text.slice(0, i);
}

/**
 * The largest size L such that cutting every text over L down to L frees at least `excess` bytes (the cut
 * falls on the longest texts, and short ones stay whole).
 */
function levelFreeing(sizes: number[], excess: number): number {
  const sorted = [...sizes].sort((a, b) => b - a);
  let freed = 0;
  for (let i = 0; i < sorted.length; i++) {
    const next = sorted[i + 1] ?? 0;
    // Cutting the i+1 longest down to `next` frees this much more.
    const step = (sorted[i] - next) * (i + 1);
    if (freed + step >= excess) return Math.floor(sorted[i] - (excess - freed) / (i + 1));
    freed += step;
  }
  return 0;
}

/**
 * Bytes the result's JSON can take at most, without serializing it: 6 per UTF-16 unit of every string (\uXXXX at
 * worst), 32 for any other value, and the keys. Most results are far below the cap, and are stored without a
 * second serialization just to measure them.
 */
function jsonBytesAtMost(value: object): number {
  let bytes = 2;
  for (const [key, v] of Object.entries(value)) {
    bytes += key.length + 4;
    if (typeof v === 'string') bytes += 6 * v.length + 2;
    else if (Array.isArray(v)) bytes += v.reduce((n: number, item: object) => n + jsonBytesAtMost(item) + 1, 2);
    else bytes += 32;
  }
  return bytes;
}

export function fitResult(result: JobResult, maxBytes: number): JobResult {
  if (jsonBytesAtMost(result) <= maxBytes || jsonBytes(result) <= maxBytes) return result;
  const fitted: JobResult = { ...result, testCases: result.testCases?.map((c): CaseOutcome => ({ ...c })), resultTrimmed: true };
  const fields = textFields(fitted);
  // Room for the flag itself and for a cut that lands mid-escape.
  const excess = jsonBytes(fitted) - maxBytes + 64 * fields.length;
  const level = levelFreeing(fields.map((f) => f.size), excess);
  for (const f of fields) {
    if (f.size > level) f.owner[f.key] = prefixWithin(f.owner[f.key] as string, Math.max(2, level));
  }
  return fitted;
}
