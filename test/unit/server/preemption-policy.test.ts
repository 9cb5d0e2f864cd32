import { describe, expect, it } from 'vitest';
import type { Contender } from '../../../server/leases/grant-policy.js';
import { planPreemption, type Holder } from '../../../server/elastic/preemption-policy.js';

const P = (tags: number, connections = 0) => ({ tags, connections });
const waiter = (id: string, priority: number, alloc: number, held: number, sinceMs = 0): Contender => ({ gatewayId: id, priority, sinceMs, allocation: P(alloc), held: P(held), granting: false });
const holder = (id: string, priority: number, alloc: number, held: number, usage: number, min: number | null = 10): Holder => ({
  gatewayId: id,
  priority,
  allocation: P(alloc),
  held: P(held),
  usage: P(usage),
  min: min === null ? {} : { tags: min },
});

describe('planPreemption', () => {
  const rows: { name: string; free: number; waiters: Contender[]; holders: Holder[]; toMin?: boolean; want: Record<string, number> }[] = [
    { name: 'free points serve the waiter: nothing taken', free: 50, waiters: [waiter('hi', 5, 100, 60)], holders: [holder('lo', 0, 100, 100, 20)], want: {} },
    { name: 'takes the lower-priority holder\'s unused headroom', free: 0, waiters: [waiter('hi', 5, 100, 60)], holders: [holder('lo', 0, 100, 100, 20)], want: { lo: 60 } },
    { name: 'headroom only: never below usage', free: 0, waiters: [waiter('hi', 5, 100, 0)], holders: [holder('lo', 0, 100, 100, 70)], want: { lo: 70 } },
    { name: 'with toMin: down to min, below usage', free: 0, waiters: [waiter('hi', 5, 100, 0)], holders: [holder('lo', 0, 100, 100, 70)], toMin: true, want: { lo: 10 } },
    { name: 'equal priority never pre-empts', free: 0, waiters: [waiter('hi', 5, 100, 0)], holders: [holder('lo', 5, 100, 100, 0)], want: {} },
    { name: 'higher priority holder is never a victim', free: 0, waiters: [waiter('mid', 3, 100, 0)], holders: [holder('top', 9, 100, 100, 0)], want: {} },
    { name: 'a fixed (non-elastic) holder is never a victim', free: 0, waiters: [waiter('hi', 5, 100, 0)], holders: [holder('lo', 0, 100, 100, 0, null)], want: {} },
    { name: 'points already owed back count as coming', free: 0, waiters: [waiter('hi', 5, 40, 0)], holders: [holder('lo', 0, 60, 100, 0)], want: {} },
    { name: 'lowest priority first', free: 0, waiters: [waiter('hi', 5, 30, 0)], holders: [holder('b', 2, 100, 100, 0), holder('a', 1, 100, 100, 0)], want: { a: 70 } },
    { name: 'a cut spans victims when one is not enough', free: 0, waiters: [waiter('hi', 5, 150, 0)], holders: [holder('a', 1, 100, 100, 0), holder('b', 2, 100, 100, 0)], want: { a: 10, b: 40 } },
    { name: 'points not held are not taken', free: 0, waiters: [waiter('hi', 5, 50, 0)], holders: [holder('lo', 0, 100, 30, 0)], want: { lo: 10 } },
  ];
  it.each(rows)('$name', ({ free, waiters, holders, toMin, want }) => {
    const got = planPreemption(P(free), waiters, holders, toMin ?? false);
    expect(Object.fromEntries(got.map((p) => [p.victimId, p.allocation.tags]))).toEqual(want);
    for (const p of got) expect(p.allocation.connections).toBe(0);
  });

  it('says which waiters a cut serves and how deep it went', () => {
    const [p] = planPreemption(P(0), [waiter('hi', 5, 100, 0)], [holder('lo', 0, 100, 100, 70)], true);
    expect(p).toEqual({ victimId: 'lo', allocation: P(10), forIds: ['hi'], depth: 'min' });
  });
});
