import { describe, expect, it } from 'vitest';
import type { GatewayHistory, PoolHistory } from '../../../shared/protocol/history.js';
import { HistoryService } from '../../../server/history/history-service.js';
import { poolLimit } from '../../../server/pools/capacity-policy.js';
import { useHarness } from '../../helpers/api-harness.js';

const h = useHarness();

interface Points {
  tags: number;
  connections: number;
}
interface PoolBody {
  allocated: Points;
  held: Points;
  pending: Points;
  inUse: Points;
  limit: Points;
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A history service on the harness's database whose clock the test moves. */
function scripted(startMs: number) {
  let now = startMs;
  const history = new HistoryService(h.db.database.db, { now: () => now });
  return {
    history,
    at: () => now,
    async tickAt(ms: number) {
      now = ms;
      return history.tick();
    },
  };
}

const allocate = (gatewayId: string, tags: number, connections: number) =>
  h.api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags, connections });
const usage = (credential: string, tags: number, connections: number) => h.api('POST', '/api/v1/agent/usage', { tags, connections }, credential);
const lease = (credential: string) => h.api('POST', '/api/v1/agent/lease', {}, credential);

describe('usage history', () => {
  it('a scripted day: each minute bucket matches the pool view at its tick, hour buckets keep the peak', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10, settings: { overdraftFactor: 1.5 } });
    const code = await h.code(poolId, 3);
    const a = await h.enroll(code);
    const b = await h.enroll(code);
    // Scripted inside the last 24 h, so the REST window (the real clock) sees all of it.
    const start = Math.floor((Date.now() - 23 * HOUR) / HOUR) * HOUR;
    const s = scripted(start);

    const steps: { at: number; change: () => Promise<unknown> }[] = [
      { at: start, change: async () => undefined },
      { at: start + 10 * MIN, change: () => allocate(a.gatewayId, 60, 4) },
      { at: start + 20 * MIN, change: () => lease(a.credential) },
      { at: start + 30 * MIN, change: () => usage(a.credential, 45, 3) },
      // b asks more than is free (150 limit, a holds 60): the grant is partial, the rest pending.
      { at: start + 2 * HOUR, change: () => allocate(b.gatewayId, 120, 4) },
      { at: start + 2 * HOUR + MIN, change: () => lease(b.credential) },
      { at: start + 5 * HOUR, change: () => usage(b.credential, 80, 2) },
      { at: start + 9 * HOUR, change: () => usage(a.credential, 10, 1) },
    ];
    const expected: { at: number; view: PoolBody }[] = [];
    for (const step of steps) {
      const r = (await step.change()) as { status?: number } | undefined;
      if (r?.status !== undefined) expect(r.status).toBeLessThan(300);
      await s.tickAt(step.at);
      expected.push({ at: step.at, view: (await h.api<PoolBody>('GET', `/api/v1/pools/${poolId}`)).body });
    }

    const day = (await h.api<PoolHistory>('GET', `/api/v1/pools/${poolId}/history?range=24h`)).body;
    expect(day.resolution).toBe('minute');
    expect(day.samples.map((x) => Date.parse(x.at))).toEqual(steps.map((x) => x.at));
    day.samples.forEach((sample, i) => {
      const v = expected[i]!.view;
      expect({ at: sample.at, held: sample.held, allocated: sample.allocated, inUse: sample.inUse, pending: sample.pending, limit: sample.limit }).toEqual({
        at: new Date(steps[i]!.at).toISOString(),
        held: v.held,
        allocated: v.allocated,
        inUse: v.inUse,
        pending: v.pending,
        limit: v.limit,
      });
    });
    // The limit is capacity-policy's (100 × 1.5), the same rule in SQL and TypeScript.
    expect(day.samples[0]!.limit).toEqual(poolLimit({ tags: 100, connections: 10 }, 1.5));
    // The pending points of b's shortfall show (if b is online) or not, as the pool view said.
    expect(day.samples.some((x) => x.held.tags > 0)).toBe(true);

    const month = (await h.api<PoolHistory>('GET', `/api/v1/pools/${poolId}/history?range=30d`)).body;
    expect(month.resolution).toBe('hour');
    // Hour buckets: start (4 ticks), +2 h (2 ticks), +5 h, +9 h; each keeps the peak of its ticks.
    expect(month.samples.map((x) => Date.parse(x.at))).toEqual([start, start + 2 * HOUR, start + 5 * HOUR, start + 9 * HOUR]);
    const firstHour = expected.slice(0, 4).map((e) => e.view);
    expect(month.samples[0]!.inUse.tags).toBe(Math.max(...firstHour.map((v) => v.inUse.tags)));
    expect(month.samples[0]!.held.tags).toBe(Math.max(...firstHour.map((v) => v.held.tags)));
    expect(month.samples[0]!.allocated.tags).toBe(60);

    // Per gateway: a step series of usage against allocation, one row per change only.
    const ga = (await h.api<GatewayHistory>('GET', `/api/v1/gateways/${a.gatewayId}/history?range=24h`)).body;
    expect(ga.samples.map((x) => [Date.parse(x.at), x.allocated.tags, x.inUse?.tags ?? null])).toEqual([
      [start, 0, null],
      [start + 10 * MIN, 60, null],
      [start + 20 * MIN, 60, null],
      [start + 30 * MIN, 60, 45],
      [start + 9 * HOUR, 60, 10],
    ]);
    expect(ga.samples[2]!.held.tags).toBe(60);
  });

  it('a tick with nothing changed writes no gateway rows, and a second replica ticking the same minute changes nothing', async () => {
    const poolId = await h.pool({ tags: 50, connections: 5 });
    const g = await h.enroll(await h.code(poolId));
    await allocate(g.gatewayId, 10, 1);
    const base = Math.floor((Date.now() - 6 * HOUR) / MIN) * MIN;
    const s = scripted(base);
    const first = await s.tickAt(base);
    expect(first.gatewayRows).toBeGreaterThanOrEqual(1);
    const again = await s.tickAt(base + 5_000);
    expect(again.gatewayRows).toBe(0);
    const later = await s.tickAt(base + 3 * MIN);
    expect(later.gatewayRows).toBe(0);
    const series = (await h.api<GatewayHistory>('GET', `/api/v1/gateways/${g.gatewayId}/history`)).body;
    expect(series.samples).toHaveLength(1);
    expect(series.samples[0]!.allocated).toEqual({ tags: 10, connections: 1 });
  });

  it('replicas ticking at once, at the same and at different minutes, all commit and keep one row per gateway and minute', async () => {
    const pools = await Promise.all([0, 1, 2, 3].map(() => h.pool({ tags: 500, connections: 50 })));
    const gateways = [];
    for (const poolId of pools) {
      const code = await h.code(poolId, 5);
      for (let i = 0; i < 5; i++) gateways.push(await h.enroll(code));
    }
    const base = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
    // Eight "replicas" per round, two minutes apart in pairs: they share the hour buckets and
    // each minute bucket with one other tick, the rows a lock order has to agree on.
    for (let round = 0; round < 5; round++) {
      await Promise.all(gateways.map((g, i) => allocate(g.gatewayId, 10 + ((round + i) % 7), 1)));
      const at = base + round * 10 * MIN;
      const ticks = await Promise.allSettled([0, 1, 2, 3, 4, 5, 6, 7].map((r) => scripted(at + (r % 2) * MIN + r * 1_000).history.tick()));
      expect(ticks.filter((t) => t.status === 'rejected').map((t) => String((t as PromiseRejectedResult).reason))).toEqual([]);
    }
    const dupes = await h.db.database.sql`
      select gateway_id, at, count(*)::int as n from gateway_usage_history group by gateway_id, at having count(*) > 1`;
    expect(dupes).toEqual([]);
    const series = (await h.api<GatewayHistory>('GET', `/api/v1/gateways/${gateways[0]!.gatewayId}/history?range=24h`)).body;
    expect(series.samples.length).toBeGreaterThanOrEqual(5);
  });

  it('prunes minute buckets past a day and keeps the row that opens a quiet gateway window', async () => {
    const poolId = await h.pool({ tags: 50, connections: 5 });
    const g = await h.enroll(await h.code(poolId));
    const base = Math.floor((Date.now() - 40 * 24 * HOUR) / HOUR) * HOUR;
    const s = scripted(base);
    await s.tickAt(base);
    await allocate(g.gatewayId, 5, 1);
    await s.tickAt(base + HOUR);
    await allocate(g.gatewayId, 7, 1);
    await s.tickAt(base + 2 * HOUR);
    // 40 days later (now): the minute buckets of then are gone, the hour buckets too (past 31 days).
    const now = await s.tickAt(Date.now());
    expect(now.pruned).toBeGreaterThan(0);
    const day = (await h.api<PoolHistory>('GET', `/api/v1/pools/${poolId}/history?range=24h`)).body;
    expect(day.samples).toHaveLength(1);
    // The gateway's rows of 40 days ago are pruned but the last one, which says what held since.
    const series = (await h.api<GatewayHistory>('GET', `/api/v1/gateways/${g.gatewayId}/history?range=30d`)).body;
    expect(series.samples.map((x) => x.allocated.tags)).toEqual([7]);
    expect(Date.parse(series.samples[0]!.at)).toBeLessThan(Date.parse(series.from));
  });

  it('unknown pool or gateway: 404; a bad range: 400', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await h.api('GET', `/api/v1/pools/${missing}/history`)).status).toBe(404);
    expect((await h.api('GET', `/api/v1/gateways/${missing}/history`)).status).toBe(404);
    const poolId = await h.pool({ tags: 10, connections: 1 });
    expect((await h.api('GET', `/api/v1/pools/${poolId}/history?range=7d`)).status).toBe(400);
  });
});
