// The pool's own bookkeeping, with items that are plain numbers: what is prepared when, handed out once,
// discarded on close. The real sandboxes it holds are tested in test/contract/warmPool.test.ts.
import { describe, expect, it } from 'vitest';
import { WarmPool } from '../../worker/transports/warmPool.js';

/** A prepare() whose calls stay pending until the test settles them. */
function controlledPrepare() {
  const calls: { resolve: (n: number) => void; reject: (e: Error) => void }[] = [];
  let next = 0;
  const prepare = () => new Promise<number>((resolve, reject) => {
    const n = ++next;
    calls.push({ resolve: () => resolve(n), reject });
  });
  return { calls, prepare };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('WarmPool', () => {
  it('prepares every missing item at once, and refills what take() removed', async () => {
    const { calls, prepare } = controlledPrepare();
    const pool = new WarmPool(3, prepare, async () => {}, () => {});
    expect(calls).toHaveLength(3);
    calls.forEach((c) => c.resolve(0));
    await tick();
    expect(pool.readyCount).toBe(3);
    expect([pool.take(), pool.take()]).toEqual([1, 2]);
    expect(calls).toHaveLength(3);
    await tick();
    expect(calls).toHaveLength(5);
    calls.slice(3).forEach((c) => c.resolve(0));
    await pool.close();
  });

  it('hands each item out once; an empty pool answers undefined and does not over-prepare', async () => {
    const { calls, prepare } = controlledPrepare();
    const pool = new WarmPool(1, prepare, async () => {}, () => {});
    expect(pool.take()).toBeUndefined();
    await tick();
    expect(calls).toHaveLength(1);
    calls[0].resolve(0);
    await tick();
    expect(pool.take()).toBe(1);
    expect(pool.take()).toBeUndefined();
    await tick();
    expect(calls).toHaveLength(2);
    calls[1].resolve(0);
    await pool.close();
  });

  it('reports a failed preparation and retries only on the next take()', async () => {
    const { calls, prepare } = controlledPrepare();
    const errors: string[] = [];
    const pool = new WarmPool(1, prepare, async () => {}, (e) => errors.push(e.message));
    calls[0].reject(new Error('engine down'));
    await tick();
    expect(errors).toEqual(['engine down']);
    expect(calls).toHaveLength(1);
    expect(pool.take()).toBeUndefined();
    await tick();
    expect(calls).toHaveLength(2);
    calls[1].resolve(0);
    await pool.close();
  });

  it('close() waits for preparations in flight and discards them with the ready ones', async () => {
    const { calls, prepare } = controlledPrepare();
    const discarded: number[] = [];
    const pool = new WarmPool(2, prepare, async (n) => void discarded.push(n), () => {});
    calls[0].resolve(0);
    await tick();
    const closing = pool.close();
    calls[1].resolve(0);
    await closing;
    expect(discarded.sort()).toEqual([1, 2]);
    expect(pool.take()).toBeUndefined();
    expect(calls).toHaveLength(2);
  });
});
