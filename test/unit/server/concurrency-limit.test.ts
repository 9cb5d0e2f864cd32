import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from '../../../server/leases/concurrency-limit.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('ConcurrencyLimit (agent messages in flight)', () => {
  it('runs at most `limit` tasks at once, the rest in arrival order, and survives failures', async () => {
    const limit = new ConcurrencyLimit(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const task = (n: number) =>
      limit.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(n);
        await new Promise<void>((r) => gates.push(r));
        running -= 1;
        if (n === 1) throw new Error('boom');
        return n;
      });
    const results = [1, 2, 3, 4, 5].map((n) => task(n).catch((e: Error) => e.message));
    await tick();
    expect(order).toEqual([1, 2]);
    expect(limit.queued).toBe(3);
    while (gates.length) {
      gates.shift()!();
      await tick();
      await tick();
    }
    expect(await Promise.all(results)).toEqual(['boom', 2, 3, 4, 5]);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(limit.queued).toBe(0);
    // The slots are free again.
    expect(await limit.run(async () => 'again')).toBe('again');
  });

  it('refuses a limit below 1', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });
});
