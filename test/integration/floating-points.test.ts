import { describe, expect, it } from 'vitest';
import { gatewayView, leaseGrant, poolView } from '../../shared/protocol/rest.js';
import { poolStore } from '../../server/pools/pool-store.js';
import { useHarness } from '../helpers/api-harness.js';

/** Issue 14: points float (PRODUCT F2 rewritten), on real PostgreSQL through the REST API. */
const h = useHarness();

const pool = async (id: string) => poolView.parse((await h.api('GET', `/api/v1/pools/${id}`)).body);
const gateway = async (id: string) => gatewayView.parse((await h.api('GET', `/api/v1/gateways/${id}`)).body);
const allocate = (id: string, body: Record<string, unknown>) => h.api<Record<string, unknown>>('PUT', `/api/v1/gateways/${id}/allocation`, body);
async function lease(credential: string) {
  const r = await h.api('POST', '/api/v1/agent/lease', { renewal: true }, credential);
  expect(r.status).toBe(200);
  return leaseGrant.parse(r.body);
}
const ack = (credential: string, jti: string) => h.api('POST', '/api/v1/agent/lease/ack', { jti }, credential);

/** A gateway with an allocation, online (pending counts only online gateways). */
async function gw(_poolId: string, code: string, tags: number, extra: Record<string, unknown> = {}) {
  const g = await h.enroll(code);
  expect((await allocate(g.gatewayId, { tags, connections: 1, ...extra })).status).toBe(200);
  await h.services.presence.set(g.gatewayId, true, 'ws');
  return g;
}

describe('points float (F2)', () => {
  it('a clean release returns the points to the pool without touching the allocation', async () => {
    const poolId = await h.pool({ tags: 1000, connections: 10 });
    const a = await gw(poolId, await h.code(poolId), 50);
    await lease(a.credential);
    expect((await pool(poolId)).free.tags).toBe(950);
    await h.api('POST', '/api/v1/agent/lease/release', undefined, a.credential);
    // Seen before: 950 → 950 in 10 of 10 trials.
    const p = await pool(poolId);
    expect(p.free.tags).toBe(1000);
    expect(p.held.tags).toBe(0);
    expect(p.allocated.tags).toBe(50);
  });

  it("a silently lost gateway's points return at its lease's exp, with no administrator", async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const a = await gw(poolId, await h.code(poolId), 80);
    const l = await lease(a.credential);
    await h.services.presence.set(a.gatewayId, false, 'ws');
    expect((await pool(poolId)).held.tags).toBe(80);
    await h.db.database.sql`update leases set expires_at = now() - interval '1 second' where id = ${l.jti}`;
    expect((await pool(poolId)).held.tags).toBe(0);
    expect((await gateway(a.gatewayId)).allocation.tags).toBe(80);
  });

  it('3 × 100 in a 200 pool: the third is pending 100, then served when one releases', async () => {
    const poolId = await h.pool({ tags: 200, connections: 10 });
    const code = await h.code(poolId);
    const [a, b, c] = [await gw(poolId, code, 100), await gw(poolId, code, 100), await gw(poolId, code, 100)];
    expect((await lease(a.credential)).pending).toEqual({ tags: 0, connections: 0 });
    await lease(b.credential);
    const third = await lease(c.credential);
    expect(third.pending).toEqual({ tags: 100, connections: 0 });
    expect(await pool(poolId)).toMatchObject({ held: { tags: 200 }, allocated: { tags: 300 }, pending: { tags: 100 }, free: { tags: 0 } });
    expect((await gateway(c.gatewayId)).pending.tags).toBe(100);
    // A renewal of the first two keeps what they hold.
    expect((await lease(a.credential)).pending).toEqual({ tags: 0, connections: 0 });
    await h.api('POST', '/api/v1/agent/lease/release', undefined, a.credential);
    await h.services.presence.set(a.gatewayId, false, 'ws');
    // The release names the waiting gateway as the one to push to.
    expect(await poolStore.servableWaiting(h.db.database.db, poolId)).toEqual([c.gatewayId]);
    const served = await lease(c.credential);
    expect(served.pending).toEqual({ tags: 0, connections: 0 });
    expect(await pool(poolId)).toMatchObject({ held: { tags: 200 }, pending: { tags: 0 } });
    // A returning gateway now waits behind nobody and gets nothing until points free up.
    await h.services.presence.set(a.gatewayId, true, 'ws');
    expect((await lease(a.credential)).pending?.tags).toBe(100);
  });

  it('partial grants give what is free; all-or-nothing gives the allocation or nothing', async () => {
    for (const [mode, expected] of [['partial', 50], ['all-or-nothing', 0]] as const) {
      const poolId = await h.pool({ tags: 100, connections: 10, settings: { grantMode: mode } });
      const code = await h.code(poolId);
      const a = await gw(poolId, code, 50);
      await lease(a.credential);
      const b = await gw(poolId, code, 80);
      const g = await lease(b.credential);
      expect((await gateway(b.gatewayId)).held.tags).toBe(expected);
      expect(g.pending?.tags).toBe(80 - expected);
    }
  });

  it('waiting gateways are served by priority, then arrival; newcomers wait behind them', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = await h.code(poolId);
    const a = await gw(poolId, code, 100);
    await lease(a.credential);
    const early = await gw(poolId, code, 60);
    expect((await lease(early.credential)).pending?.tags).toBe(60);
    const urgent = await gw(poolId, code, 60, { priority: 5 });
    expect((await lease(urgent.credential)).pending?.tags).toBe(60);
    const late = await gw(poolId, code, 10);
    expect((await lease(late.credential)).pending?.tags).toBe(10);
    await h.api('POST', '/api/v1/agent/lease/release', undefined, a.credential);
    await h.services.presence.set(a.gatewayId, false, 'ws');
    expect(await poolStore.servableWaiting(h.db.database.db, poolId)).toEqual([urgent.gatewayId, early.gatewayId]);
    // The latest arrival asks first, yet the points ahead of it are owed to the others.
    expect((await lease(late.credential)).pending?.tags).toBe(10);
    expect((await lease(early.credential)).pending?.tags).toBe(20);
    expect((await lease(urgent.credential)).pending?.tags).toBe(0);
    expect((await pool(poolId)).held.tags).toBe(100);
  });

  it('a renewal never loses held points, even when a forced smaller license over-commits the pool', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const a = await gw(poolId, await h.code(poolId), 100);
    const first = await lease(a.credential);
    await ack(a.credential, first.jti);
    const lic = await h.license({ tags: 40, connections: 10, plugins: [] });
    expect((await h.api('PUT', `/api/v1/pools/${poolId}/license`, { license: lic, force: true })).status).toBe(200);
    expect((await lease(a.credential)).pending).toEqual({ tags: 0, connections: 0 });
    expect((await gateway(a.gatewayId)).held.tags).toBe(100);
  });

  it('oversubscription is allowed up to the pool cap; beyond it a raise gets 409 and changes nothing', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10, settings: { maxOversubscription: 1.5 } });
    const code = await h.code(poolId);
    const a = await gw(poolId, code, 100);
    const b = await h.enroll(code);
    const ok = await allocate(b.gatewayId, { tags: 50, connections: 1 });
    expect(ok.status).toBe(200);
    const refused = await allocate(b.gatewayId, { tags: 51, connections: 1 });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ name: 'oversubscription-cap', excess: [{ kind: 'tags', allocated: 151, most: 150 }] });
    expect((await gateway(b.gatewayId)).allocation.tags).toBe(50);
    expect((await pool(poolId)).maxOversubscription).toBe(1.5);
    // A cap below what is allocated is refused too.
    expect((await h.api('PATCH', `/api/v1/pools/${poolId}`, { maxOversubscription: 1.2 })).status).toBe(409);
    void a;
  });

  it('the allocation answer says how much is granted at once and how much waits', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = await h.code(poolId);
    const a = await gw(poolId, code, 70);
    await lease(a.credential);
    const b = await gw(poolId, code, 0);
    const r = await allocate(b.gatewayId, { tags: 50, connections: 1 });
    expect(gatewayView.parse(r.body).allocationOutcome).toEqual({ granted: { tags: 30, connections: 1 }, pending: { tags: 20, connections: 0 } });
  });

  it("a reserved gateway's points stay held while it is offline, and count against others", async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = await h.code(poolId);
    const r = await h.enroll(code);
    expect((await allocate(r.gatewayId, { tags: 60, connections: 2, reserved: true })).status).toBe(200);
    expect((await gateway(r.gatewayId)).held).toEqual({ tags: 60, connections: 2 });
    const other = await gw(poolId, code, 100);
    expect((await lease(other.credential)).pending?.tags).toBe(60);
    expect(await pool(poolId)).toMatchObject({ held: { tags: 100 } });
  });
});
