import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulateService } from '../../server/simulate/simulate-service.js';
import { startHarness, type Harness } from '../helpers/api-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY = 86_400_000;
// A fixed clock far from the wall clock: only the injected one can decide what is old.
const NOW = Date.parse('2031-06-15T12:00:00Z');

describe('usage history retention (usage_samples)', () => {
  it('deletes samples older than the retention by the injected clock, oldest first, in batches, across pools', async () => {
    const sql = h.db.database.sql;
    const gatewayOf = async (tags: number) => {
      const poolId = await h.pool({ tags, connections: 10 });
      const { gatewayId } = await h.enroll(await h.code(poolId, 1));
      return { poolId, gatewayId };
    };
    const a = await gatewayOf(100);
    const b = await gatewayOf(200);
    // Ages in days before NOW: 40, 35, 31.5 and 30.9 (just inside), 1 for A; 33 and 2 for B.
    const ages: [typeof a, number][] = [[a, 40], [a, 35], [a, 31.5], [a, 30.9], [a, 1], [b, 33], [b, 2]];
    for (const [g, age] of ages) {
      await sql`insert into usage_samples (gateway_id, pool_id, at, tags, connections)
        values (${g.gatewayId}, ${g.poolId}, ${new Date(NOW - age * DAY).toISOString()}::timestamptz, ${Math.round(age * 10)}, 1)`;
    }
    const left = async () =>
      (await sql`select tags from usage_samples where gateway_id in (${a.gatewayId}, ${b.gatewayId}) order by at`).map((r) => Number(r.tags) / 10);
    let now = NOW;
    const sim = new SimulateService(h.db.database.db, () => now);

    // Four samples are past 31 days: 40, 35 and 31.5 days (A) and 33 (B). Batches of 2.
    expect(await sim.pruneUsageHistory(31, 2)).toBe(2);
    expect(await sim.pruneUsageHistory(31, 2)).toBe(2);
    expect(await sim.pruneUsageHistory(31, 2)).toBe(0);
    expect(await left()).toEqual([30.9, 2, 1]);

    // A day later by the clock, the 30.9-day sample is past it too; the wall clock never entered.
    now = NOW + DAY;
    expect(await sim.pruneUsageHistory(31)).toBe(1);
    expect(await left()).toEqual([2, 1]);
  });

  it('the oldest samples go first within a pool when a batch cannot take them all', async () => {
    const sql = h.db.database.sql;
    const poolId = await h.pool({ tags: 50, connections: 5 });
    const { gatewayId } = await h.enroll(await h.code(poolId, 1));
    for (const age of [50, 45, 60, 40]) {
      await sql`insert into usage_samples (gateway_id, pool_id, at, tags, connections)
        values (${gatewayId}, ${poolId}, ${new Date(NOW - age * DAY).toISOString()}::timestamptz, ${age}, 1)`;
    }
    const sim = new SimulateService(h.db.database.db, () => NOW);
    expect(await sim.pruneUsageHistory(31, 2)).toBe(2);
    expect((await sql`select tags from usage_samples where gateway_id = ${gatewayId} order by at`).map((r) => Number(r.tags))).toEqual([45, 40]);
  });
});
