import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../helpers/api-harness.js';
import { buildFleet } from './fleet.js';
import { KINDS, takeSnapshot } from './invariant-checker.js';
import { useInvariantHarness } from './invariant-harness.js';
import { seededRng } from './prng.js';
import { InvariantSampler } from './sampler.js';

const N = 50;

interface Problem {
  name?: string;
  requested?: { tags: number; connections: number };
  free?: { tags: number | null; connections: number | null };
}

const { h, checker } = useInvariantHarness();

/** A pool with one gateway already holding `base` points, and N more gateways at 0. */
async function poolWithRacers(capacity: { tags: number; connections: number }, base: { tags: number; connections: number }) {
  const fleet = await buildFleet(h, [{ capacity, gateways: N + 1 }]);
  const pool = fleet.pools[0]!;
  const [holder, ...racers] = pool.gateways;
  expect((await allocate(holder!, base)).status).toBe(200);
  return { poolId: pool.id, racers };
}

const allocate = (gatewayId: string, points: { tags: number; connections: number }): Promise<ApiResponse<Problem>> =>
  // Reserved: the allocation is held at once, so raises race for free points (F2 since issue 14).
  h.api<Problem>('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { ...points, reserved: true });

async function heldOf(poolId: string) {
  const snap = await takeSnapshot(checker.sql);
  return snap.pools.get(poolId)!;
}

/** Commit order of a pool's allocation changes and license uploads: audit rows are written under the pool lock. */
async function auditOrder(poolId: string): Promise<{ id: number; action: string; gatewayId: string | null; after: unknown }[]> {
  const rows = (await h.db.database.sql`
    select id, action, gateway_id, after from audit_events
    where pool_id = ${poolId} and action in ('allocation.changed', 'pool.license.uploaded', 'pool.license.uploaded.forced')
    order by id`) as unknown as { id: string; action: string; gateway_id: string | null; after: unknown }[];
  return rows.map((r) => ({ id: Number(r.id), action: r.action, gatewayId: r.gateway_id, after: r.after }));
}

describe('concurrent allocation raises in one pool', () => {
  it(`${N} raises race for points that fit only 15 of them: exactly 15 succeed, the rest get 409 insufficient-points`, async () => {
    // Limit 1000 tags; 400 already held; each racer wants 40 → 600 / 40 = 15 fit. Connections are plentiful.
    const { poolId, racers } = await poolWithRacers({ tags: 1000, connections: 100 }, { tags: 400, connections: 10 });
    const sampler = new InvariantSampler(checker.sql, 1);
    sampler.start();
    const results = await Promise.all(racers.map((id) => allocate(id, { tags: 40, connections: 1 })));
    const sampled = await sampler.stop();

    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    expect(ok).toHaveLength(15);
    expect(refused).toHaveLength(N - 15);
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect(r.body.name).toBe('insufficient-points');
      expect(r.body.requested).toEqual({ tags: 40, connections: 1 });
      expect(r.body.free?.tags).toBe(0);
    }
    const pool = (await h.api<{ held: { tags: number }; free: { tags: number } }>('GET', `/api/v1/pools/${poolId}`)).body;
    expect(pool.held.tags).toBe(1000);
    expect(pool.free.tags).toBe(0);
    expect((await heldOf(poolId)).held).toEqual({ tags: 1000, connections: 25 });
    expect(sampled.violations).toEqual([]);
    expect(sampled.snapshots).toBeGreaterThan(1);
  });

  it('mixed sizes: successes never exceed the free points, and every refusal asked for more than was left', async () => {
    const seed = 4242;
    const rng = seededRng(seed);
    const { poolId, racers } = await poolWithRacers({ tags: 1000, connections: 100 }, { tags: 250, connections: 20 });
    const asks = racers.map(() => ({ tags: rng.int(5, 60), connections: rng.int(0, 4) }));
    const sampler = new InvariantSampler(checker.sql, 1);
    sampler.start();
    const results = await Promise.all(racers.map((id, i) => allocate(id, asks[i]!)));
    const sampled = await sampler.stop();

    const granted = { tags: 0, connections: 0 };
    results.forEach((r, i) => {
      if (r.status === 200) KINDS.forEach((k) => (granted[k] += asks[i]![k]));
    });
    expect(granted.tags, `seed ${seed}`).toBeLessThanOrEqual(750);
    expect(granted.connections, `seed ${seed}`).toBeLessThanOrEqual(80);
    const left = { tags: 750 - granted.tags, connections: 80 - granted.connections };
    results.forEach((r, i) => {
      if (r.status === 200) return;
      expect(r.status).toBe(409);
      expect(r.body.name).toBe('insufficient-points');
      // Free points only shrink during the race, so what was refused still does not fit now.
      expect(KINDS.some((k) => asks[i]![k] > left[k]), `racer ${i} asked ${JSON.stringify(asks[i])}, left ${JSON.stringify(left)} (seed ${seed})`).toBe(true);
    });
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(5);
    expect(results.filter((r) => r.status === 409).length).toBeGreaterThan(5);
    expect((await heldOf(poolId)).held).toEqual({ tags: 250 + granted.tags, connections: 20 + granted.connections });
    expect(sampled.violations).toEqual([]);
  });

  // The forced downgrade lands at different points of the race: early, in the middle, late.
  for (const [position, newTags] of [
    [0, 900],
    [5, 500],
    [25, 500],
    [45, 700],
  ] as const) {
    it(`raises racing a forced license downgrade to ${newTags} tags (sent after ${position} raises)`, async () => {
      // Limit 1000, 200 held; each racer wants 20 → 40 of 50 fit before the downgrade.
      const { poolId, racers } = await poolWithRacers({ tags: 1000, connections: 100 }, { tags: 200, connections: 10 });
      const license = await h.license({ tags: newTags, connections: 100, plugins: [] });
      const sampler = new InvariantSampler(checker.sql, 1);
      sampler.start();
      const raises: Promise<ApiResponse<Problem>>[] = [];
      racers.slice(0, position).forEach((id) => raises.push(allocate(id, { tags: 20, connections: 1 })));
      const upload = h.api<Problem & { overCommitted: boolean }>('PUT', `/api/v1/pools/${poolId}/license`, { license, force: true });
      racers.slice(position).forEach((id) => raises.push(allocate(id, { tags: 20, connections: 1 })));
      const [results, up] = await Promise.all([Promise.all(raises), upload]);
      const sampled = await sampler.stop();

      expect(up.status).toBe(200);
      for (const r of results.filter((x) => x.status !== 200)) {
        expect(r.status).toBe(409);
        expect(['insufficient-points', 'pool-over-committed']).toContain(r.body.name);
      }
      // Replay the commit order from the audit trail.
      const order = await auditOrder(poolId);
      // The pool's first license came before every raise; the last upload is the downgrade.
      const uploadAt = order.findLastIndex((e) => e.action.startsWith('pool.license.uploaded'));
      const raisesBefore = order.slice(0, uploadAt).filter((e) => e.action === 'allocation.changed' && racers.includes(e.gatewayId!)).length;
      const raisesAfter = order.slice(uploadAt + 1).filter((e) => e.action === 'allocation.changed').length;
      expect(raisesBefore + raisesAfter).toBe(results.filter((r) => r.status === 200).length);
      const heldAtUpload = 200 + 20 * raisesBefore;
      const overCommitted = heldAtUpload > newTags;
      expect(order[uploadAt]!.action).toBe(overCommitted ? 'pool.license.uploaded.forced' : 'pool.license.uploaded');
      expect(up.body.overCommitted).toBe(overCommitted);
      const finalHeld = (await heldOf(poolId)).held.tags;
      console.log(
        `[race] downgrade to ${newTags} after ${position} sent: ${raisesBefore} raises committed before it, ${raisesAfter} after; ` +
          `over-committed ${overCommitted}; refusals ${results.filter((r) => r.status === 409).map((r) => r.body.name).join(',')}`.slice(0, 400),
      );
      expect(finalHeld).toBe(heldAtUpload + 20 * raisesAfter);
      if (overCommitted) {
        // Nothing new once the pool is over-committed; held stays where the downgrade found it.
        expect(raisesAfter).toBe(0);
        expect(finalHeld).toBe(heldAtUpload);
      } else {
        expect(finalHeld).toBeLessThanOrEqual(newTags);
        expect(results.some((r) => r.body?.name === 'pool-over-committed')).toBe(false);
      }
      expect(heldAtUpload).toBeLessThanOrEqual(1000);
      expect(sampled.violations).toEqual([]);
    });
  }
});
