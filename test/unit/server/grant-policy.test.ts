import { describe, expect, it } from 'vitest';
import { decideGrant, planPoolGrants, type Contender, type GrantMode } from '../../../server/leases/grant-policy.js';

const p = (tags: number, connections: number) => ({ tags, connections });

describe('decideGrant (F2 granting)', () => {
  const cases: { name: string; alloc: [number, number]; held: [number, number]; free: [number, number]; mode: GrantMode; points: [number, number] }[] = [
    { name: 'fits: the allocation', alloc: [100, 5], held: [0, 0], free: [200, 10], mode: 'partial', points: [100, 5] },
    { name: 'partial: what is free, per kind', alloc: [100, 5], held: [0, 0], free: [40, 10], mode: 'partial', points: [40, 5] },
    { name: 'all-or-nothing: nothing beyond what is held', alloc: [100, 5], held: [0, 0], free: [40, 10], mode: 'all-or-nothing', points: [0, 0] },
    { name: 'all-or-nothing: keeps what it holds', alloc: [100, 5], held: [30, 2], free: [40, 10], mode: 'all-or-nothing', points: [30, 2] },
    { name: 'all-or-nothing: held plus free reaches it', alloc: [100, 5], held: [60, 2], free: [40, 3], mode: 'all-or-nothing', points: [100, 5] },
    { name: 'renewal with the pool over its limit keeps what it holds', alloc: [100, 5], held: [100, 5], free: [-50, -1], mode: 'partial', points: [100, 5] },
    { name: 'allocation lowered: the new allocation', alloc: [20, 1], held: [100, 5], free: [0, 0], mode: 'partial', points: [20, 1] },
    { name: 'nothing free, nothing held', alloc: [10, 1], held: [0, 0], free: [0, 0], mode: 'partial', points: [0, 0] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideGrant(p(...c.alloc), p(...c.held), p(...c.free), c.mode);
      expect(d.points).toEqual(p(...c.points));
      expect(d.pending).toEqual(p(c.alloc[0] - c.points[0], c.alloc[1] - c.points[1]));
    });
  }
});

describe('planPoolGrants (priority, then arrival)', () => {
  const c = (gatewayId: string, o: Partial<Contender>): Contender => ({ gatewayId, priority: 0, sinceMs: 0, allocation: p(50, 0), held: p(0, 0), granting: true, ...o });
  it('an owed gateway ahead keeps its shortfall; the newcomer gets what is left', () => {
    const plan = planPoolGrants(p(100, 0), p(40, 0), 'partial', [c('late', { sinceMs: 9 }), c('owed', { sinceMs: 1, granting: false })]);
    expect(plan.get('late')!.points.tags).toBe(10);
    expect(plan.has('owed')).toBe(false);
  });
  it('higher priority goes first whatever the arrival', () => {
    const plan = planPoolGrants(p(100, 0), p(40, 0), 'partial', [c('early', { sinceMs: 1 }), c('vip', { sinceMs: 9, priority: 1 })]);
    expect(plan.get('vip')!.points.tags).toBe(50);
    expect(plan.get('early')!.points.tags).toBe(10);
  });
  it('a batch never grants past the limit', () => {
    const many = Array.from({ length: 10 }, (_, i) => c(`g${i}`, { sinceMs: i }));
    const plan = planPoolGrants(p(120, 0), p(0, 0), 'partial', many);
    expect([...plan.values()].reduce((n, d) => n + d.points.tags, 0)).toBe(120);
  });
  it('all-or-nothing: the head blocks those behind it (no starvation of large allocations)', () => {
    const plan = planPoolGrants(p(100, 0), p(40, 0), 'all-or-nothing', [c('big', { sinceMs: 1, allocation: p(80, 0) }), c('small', { sinceMs: 2, allocation: p(20, 0) })]);
    expect(plan.get('big')!.points.tags).toBe(0);
    expect(plan.get('small')!.points.tags).toBe(0);
  });
});
