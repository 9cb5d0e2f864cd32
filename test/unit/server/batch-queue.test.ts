import { describe, expect, it } from 'vitest';
import { BatchQueue, failed, succeeded, type Outcome } from '../../../server/db/batch-queue.js';

interface Req {
  key: string;
  n: number;
}

/** A batch runner whose batches finish only when the test says so. */
function controlled() {
  const batches: { reqs: Req[]; finish: (outcomes?: Outcome<number>[]) => void; fail: (err: unknown) => void }[] = [];
  const run = (reqs: readonly Req[]) =>
    new Promise<readonly Outcome<number>[]>((resolve, reject) => {
      batches.push({ reqs: [...reqs], finish: (o) => resolve(o ?? reqs.map((r) => succeeded(r.n * 10))), fail: reject });
    });
  return { batches, run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('BatchQueue', () => {
  it('runs a lone request at once, and takes what arrives meanwhile as one batch', async () => {
    const c = controlled();
    const q = new BatchQueue(c.run, { maxBatch: 100, lanes: 1, key: (r: Req) => r.key });
    const first = q.submit({ key: 'a', n: 1 });
    expect(c.batches).toHaveLength(1);
    const rest = [2, 3, 4].map((n) => q.submit({ key: `k${n}`, n }));
    expect(q.waiting).toBe(3);
    c.batches[0]!.finish();
    expect(await first).toBe(10);
    await tick();
    expect(c.batches[1]!.reqs.map((r) => r.n)).toEqual([2, 3, 4]);
    c.batches[1]!.finish();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    await q.idle();
  });

  it('never puts one key in two batches at once, and keeps per-key order', async () => {
    const c = controlled();
    const q = new BatchQueue(c.run, { maxBatch: 100, lanes: 3, key: (r: Req) => r.key });
    const results = [1, 2, 3].map((n) => q.submit({ key: 'same', n }));
    const other = q.submit({ key: 'other', n: 9 });
    // Lane 1 took `same`#1; lane 2 skipped the other `same`s and took `other`; nothing for lane 3.
    expect(c.batches.map((b) => b.reqs.map((r) => r.n))).toEqual([[1], [9]]);
    c.batches[0]!.finish();
    await tick();
    expect(c.batches[2]!.reqs.map((r) => r.n)).toEqual([2]);
    c.batches[1]!.finish();
    c.batches[2]!.finish();
    await tick();
    expect(c.batches[3]!.reqs.map((r) => r.n)).toEqual([3]);
    c.batches[3]!.finish();
    expect(await Promise.all([...results, other])).toEqual([10, 20, 30, 90]);
  });

  it('caps a batch at maxBatch and runs no more than `lanes` batches', async () => {
    const c = controlled();
    const q = new BatchQueue(c.run, { maxBatch: 3, lanes: 2, key: (r: Req) => r.key });
    const all = Array.from({ length: 10 }, (_, n) => q.submit({ key: `k${n}`, n }));
    // The first submit started a batch of one; the second lane took the next one alone as well.
    expect(c.batches.map((b) => b.reqs.length)).toEqual([1, 1]);
    c.batches[0]!.finish();
    c.batches[1]!.finish();
    await tick();
    expect(c.batches.slice(2).map((b) => b.reqs.length)).toEqual([3, 3]);
    c.batches[2]!.finish();
    c.batches[3]!.finish();
    await tick();
    expect(c.batches.slice(4).map((b) => b.reqs.length)).toEqual([2]);
    c.batches[4]!.finish();
    expect(await Promise.all(all)).toEqual(Array.from({ length: 10 }, (_, n) => n * 10));
  });

  it('gives each request its own outcome, and the batch error to all when the batch fails', async () => {
    const c = controlled();
    const q = new BatchQueue(c.run, { maxBatch: 10, lanes: 1, key: (r: Req) => r.key });
    const lone = q.submit({ key: 'x', n: 0 });
    const a = q.submit({ key: 'a', n: 1 });
    const b = q.submit({ key: 'b', n: 2 });
    c.batches[0]!.fail(new Error('connection lost'));
    await expect(lone).rejects.toThrow('connection lost');
    await tick();
    c.batches[1]!.finish([succeeded(7), failed(new Error('only b'))]);
    expect(await a).toBe(7);
    await expect(b).rejects.toThrow('only b');
    // The queue keeps working after failures.
    const later = q.submit({ key: 'x', n: 5 });
    c.batches[2]!.finish();
    expect(await later).toBe(50);
  });

  it('refuses nonsense sizes', () => {
    const run = () => Promise.resolve([]);
    expect(() => new BatchQueue(run, { maxBatch: 0, lanes: 1, key: String })).toThrow(RangeError);
    expect(() => new BatchQueue(run, { maxBatch: 1, lanes: 1.5, key: String })).toThrow(RangeError);
  });
});
