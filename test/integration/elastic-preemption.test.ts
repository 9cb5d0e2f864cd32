import { beforeAll, describe, expect, it } from 'vitest';
import { ElasticService } from '../../server/elastic/elastic-service.js';
import type { ChangeNotifier } from '../../server/leases/change-notifier.js';
import { elasticBoundsView, pendingView, poolPolicyView } from '../../shared/protocol/elastic.js';
import { gatewayView, leaseGrant } from '../../shared/protocol/rest.js';
import { useHarness } from '../helpers/api-harness.js';

/** Issue 21 steps 1–2 on real PostgreSQL: elastic resizes, pending requests, pre-emption by priority. */
const h = useHarness();
let clock = Date.parse('2026-12-02T00:00:00Z');
const changed: string[] = [];
let elastic: ElasticService;
beforeAll(async () => {
  // The real pusher behind a recorder: tests see what was pushed and the agents still get leases.
  const notifier: ChangeNotifier = {
    gatewayChanged: (id) => (changed.push(id), h.services.pusher.gatewayChanged(id)),
    poolChanged: (id) => h.services.pusher.poolChanged(id),
    pointsFreed: (id) => h.services.pusher.pointsFreed(id),
  };
  elastic = new ElasticService(h.db.database.db, notifier, () => clock);
});

const gateway = async (id: string) => gatewayView.parse((await h.api('GET', `/api/v1/gateways/${id}`)).body);
async function lease(credential: string) {
  const r = await h.api('POST', '/api/v1/agent/lease', { renewal: true }, credential);
  expect(r.status).toBe(200);
  return leaseGrant.parse(r.body);
}
const ack = async (credential: string, jti: string) => expect((await h.api('POST', '/api/v1/agent/lease/ack', { jti }, credential)).status).toBe(200);
const usage = async (credential: string, tags: number) => expect((await h.api('POST', '/api/v1/agent/usage', { tags, connections: 0 }, credential)).status).toBeLessThan(300);
async function gw(_poolId: string, code: string, tags: number, extra: Record<string, unknown> = {}) {
  const g = await h.enroll(code);
  expect((await h.api('PUT', `/api/v1/gateways/${g.gatewayId}/allocation`, { tags, connections: 0, ...extra })).status).toBe(200);
  await h.services.presence.set(g.gatewayId, true, 'ws');
  const l = await lease(g.credential);
  await ack(g.credential, l.jti);
  return g;
}
const audit = async (gatewayId: string, action: string) =>
  h.db.database.sql<{ actor: string; after: Record<string, unknown> }[]>`select actor, after from audit_events where gateway_id = ${gatewayId} and action = ${action} order by id`;

describe('elastic allocations', () => {
  it('grows with usage within max, at most one step, never within a cooldown; shrinks after low usage past the cooldown', async () => {
    const poolId = await h.pool({ tags: 1000, connections: 10 });
    expect((await h.api('PUT', `/api/v1/pools/${poolId}/policy`, { headroom: 0.25, step: 0.25, cooldownSec: 60 })).status).toBe(200);
    const a = await gw(poolId, await h.code(poolId), 100);
    const bounds = await h.api('PUT', `/api/v1/gateways/${a.gatewayId}/elastic`, { tags: { min: 50, max: 200 } });
    expect(elasticBoundsView.parse(bounds.body).tags).toEqual({ min: 50, max: 200 });
    await usage(a.credential, 95);
    changed.length = 0;
    expect((await elastic.tick()).resized).toBe(1);
    expect((await gateway(a.gatewayId)).allocation.tags).toBe(119); // ceil(95 × 1.25)
    expect(changed).toContain(a.gatewayId); // pushed like any allocation change
    const [row] = await audit(a.gatewayId, 'allocation.elastic');
    expect(row!.actor).toBe('system:elastic');
    expect(String(row!.after.reason)).toMatch(/tags grow 100→119: 95 in use/);
    // Usage follows at once; inside the cooldown nothing moves.
    await usage(a.credential, 119);
    clock += 30_000;
    expect((await elastic.tick()).resized).toBe(0);
    clock += 30_000;
    expect((await elastic.tick()).resized).toBe(1);
    expect((await gateway(a.gatewayId)).allocation.tags).toBe(149);
    // Up to max, no further.
    await usage(a.credential, 149);
    clock += 60_000;
    await elastic.tick();
    await usage(a.credential, 190);
    clock += 60_000;
    await elastic.tick();
    expect((await gateway(a.gatewayId)).allocation.tags).toBe(200);
    // Low usage: the mark is set, the shrink waits a cooldown past it, one step (50) at a time, never below usage or min.
    await usage(a.credential, 10);
    clock += 60_000;
    expect((await elastic.tick()).resized).toBe(0);
    clock += 59_000;
    expect((await elastic.tick()).resized).toBe(0);
    clock += 1_000;
    expect((await elastic.tick()).resized).toBe(1);
    expect((await gateway(a.gatewayId)).allocation.tags).toBe(150);
    for (let i = 0; i < 6; i++) {
      clock += 60_000;
      await elastic.tick();
    }
    expect((await gateway(a.gatewayId)).allocation.tags).toBe(50);
    // The agent acknowledges the smaller lease: the points return to the pool.
    const l = await lease(a.credential);
    await ack(a.credential, l.jti);
    expect((await gateway(a.gatewayId)).held.tags).toBe(50);
  });

  it('grows only into free points; refuses bad bounds with 400 and changes nothing', async () => {
    const poolId = await h.pool({ tags: 120, connections: 10 });
    const code = await h.code(poolId);
    const a = await gw(poolId, code, 100);
    await gw(poolId, code, 15);
    expect((await h.api('PUT', `/api/v1/gateways/${a.gatewayId}/elastic`, { tags: { min: 300, max: 200 } })).status).toBe(400);
    expect(elasticBoundsView.parse((await h.api('GET', `/api/v1/gateways/${a.gatewayId}/elastic`)).body).tags).toBeNull();
    await h.api('PUT', `/api/v1/gateways/${a.gatewayId}/elastic`, { tags: { min: 0, max: 500 } });
    await usage(a.credential, 100);
    clock += 3600_000;
    await elastic.tick();
    expect((await gateway(a.gatewayId)).allocation.tags).toBe(105); // 5 free of 120
  });
});

describe('pre-emption by priority and pending requests', () => {
  async function scene(loPriority = 0) {
    const poolId = await h.pool({ tags: 200, connections: 10 });
    const code = await h.code(poolId);
    const lo = await gw(poolId, code, 150, { priority: loPriority });
    await h.api('PUT', `/api/v1/gateways/${lo.gatewayId}/elastic`, { tags: { min: 10, max: 200 } });
    await usage(lo.credential, 20);
    const hi = await gw(poolId, code, 50, { priority: 5 });
    // The raise does not fit: 0 free.
    expect((await h.api('PUT', `/api/v1/gateways/${hi.gatewayId}/allocation`, { tags: 100, connections: 0, priority: 5 })).status).toBe(200);
    expect((await lease(hi.credential)).pending?.tags).toBe(50);
    return { poolId, lo, hi };
  }

  it("takes the lower-priority gateway's headroom; the request completes after the victim's acknowledgement", async () => {
    const { lo, hi } = await scene();
    clock += 3600_000;
    const r = await elastic.tick();
    expect(r.preempted).toBe(1);
    expect((await gateway(lo.gatewayId)).allocation.tags).toBe(100);
    const [row] = await audit(lo.gatewayId, 'allocation.preempted');
    expect(row!.actor).toBe('system:preemption');
    expect(row!.after.for).toEqual([hi.gatewayId]);
    // Still pending: lo holds 150 until it acknowledges; the API says whom hi waits for and until when.
    const p = pendingView.parse((await h.api('GET', `/api/v1/gateways/${hi.gatewayId}/pending`)).body);
    expect(p.pending.tags).toBe(50);
    expect(p.waitsFor).toEqual([expect.objectContaining({ gatewayId: lo.gatewayId, owes: { tags: 50, connections: 0 }, until: expect.any(String) })]);
    expect((await lease(hi.credential)).pending?.tags).toBe(50);
    // A second tick takes nothing more: lo's 50 are already coming.
    expect((await elastic.tick()).preempted).toBe(0);
    const small = await lease(lo.credential);
    await ack(lo.credential, small.jti);
    const got = await lease(hi.credential);
    expect(got.pending?.tags ?? 0).toBe(0);
    expect((await gateway(hi.gatewayId)).held.tags).toBe(100);
  });

  it("with the victim's agent gone, the request completes at the victim's lease expiry", async () => {
    const { lo, hi } = await scene();
    clock += 3600_000;
    await elastic.tick();
    expect((await lease(hi.credential)).pending?.tags).toBe(50);
    await h.db.database.sql`update leases set expires_at = now() - interval '1 second' where gateway_id = ${lo.gatewayId} and ended_at is null`;
    expect((await lease(hi.credential)).pending?.tags ?? 0).toBe(0);
  });

  it("waits until the victim's larger lease expires, not the smaller one pushed after the cut", async () => {
    const { lo, hi } = await scene();
    clock += 3600_000;
    expect((await elastic.tick()).preempted).toBe(1);
    // The victim's acknowledged 150-tag lease ends in 100 s; the 100-tag lease it is then pushed
    // (never acknowledged: its agent is gone) lives the pool's whole TTL, and holds none of the 50 owed.
    await h.db.database.sql`update leases set expires_at = now() + interval '100 seconds' where gateway_id = ${lo.gatewayId} and ended_at is null`;
    const small = await lease(lo.credential);
    const [big] = await h.db.database.sql<{ ms: number }[]>`
      select (extract(epoch from expires_at) * 1000)::float8 as ms from leases where gateway_id = ${lo.gatewayId} and tags = 150 and ended_at is null`;
    const bigExp = new Date(Number(big!.ms)); // whole milliseconds, as the API renders it
    expect(small.expiresAt * 1000).toBeGreaterThan(bigExp.getTime());
    const p = pendingView.parse((await h.api('GET', `/api/v1/gateways/${hi.gatewayId}/pending`)).body);
    expect(p.waitsFor).toEqual([expect.objectContaining({ gatewayId: lo.gatewayId, owes: { tags: 50, connections: 0 } })]);
    expect(p.waitsFor[0]!.until).toBe(bigExp.toISOString());
  });

  it('equal priorities never pre-empt', async () => {
    const { lo } = await scene(5);
    clock += 3600_000;
    expect((await elastic.tick()).preempted).toBe(0);
    expect((await gateway(lo.gatewayId)).allocation.tags).toBe(150);
  });

  it('a pending request can be cancelled, and times out', async () => {
    const { hi, poolId } = await scene(9); // lo outranks hi: nothing is taken
    expect((await h.api('DELETE', `/api/v1/gateways/${hi.gatewayId}/pending`)).status).toBe(200);
    expect((await gateway(hi.gatewayId)).allocation.tags).toBe(50);
    expect((await audit(hi.gatewayId, 'allocation.pending-cancelled')).length).toBe(1);
    expect((await h.api('DELETE', `/api/v1/gateways/${hi.gatewayId}/pending`)).status).toBe(409);
    // Timeout.
    expect(poolPolicyView.parse((await h.api('PUT', `/api/v1/pools/${poolId}/policy`, { pendingTimeoutSec: 60 })).body).pendingTimeoutSec).toBe(60);
    await h.api('PUT', `/api/v1/gateways/${hi.gatewayId}/allocation`, { tags: 100, connections: 0 });
    await lease(hi.credential);
    const p = pendingView.parse((await h.api('GET', `/api/v1/gateways/${hi.gatewayId}/pending`)).body);
    expect(p.timesOutAt).not.toBeNull();
    clock = Date.now() + 61_000;
    expect((await elastic.tick()).timedOut).toBe(1);
    expect((await gateway(hi.gatewayId)).allocation.tags).toBe(50);
    expect((await audit(hi.gatewayId, 'allocation.pending-timed-out'))[0]!.actor).toBe('system:pending-timeout');
  });
});
