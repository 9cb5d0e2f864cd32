import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { gatewayView, leaseGrant, poolView } from '../../shared/protocol/rest.js';
import { useHarness } from '../helpers/api-harness.js';

/** Issue 21 step 3: offline borrowing on real PostgreSQL through the agent REST API. */
const h = useHarness();

const pool = async (id: string) => poolView.parse((await h.api('GET', `/api/v1/pools/${id}`)).body);
const gateway = async (id: string) => gatewayView.parse((await h.api('GET', `/api/v1/gateways/${id}`)).body);
async function lease(credential: string, path = '/api/v1/agent/lease', body: unknown = { renewal: true }) {
  const r = await h.api('POST', path, body === 'none' ? undefined : body, credential);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return leaseGrant.parse(r.body);
}
const ack = async (credential: string, jti: string) => expect((await h.api('POST', '/api/v1/agent/lease/ack', { jti }, credential)).status).toBe(200);
async function gw(_poolId: string, code: string, tags: number) {
  const g = await h.enroll(code);
  expect((await h.api('PUT', `/api/v1/gateways/${g.gatewayId}/allocation`, { tags, connections: 1 })).status).toBe(200);
  await h.services.presence.set(g.gatewayId, true, 'ws');
  await ack(g.credential, (await lease(g.credential)).jti);
  return g;
}
async function borrowPool(settings: Record<string, unknown> = {}) {
  const poolId = await h.pool({ tags: 1000, connections: 10, settings });
  expect((await h.api('PUT', `/api/v1/pools/${poolId}/policy`, { borrowMaxSec: 3600, borrowMaxFraction: 0.25, borrowsPerGateway: 1 })).status).toBe(200);
  return { poolId, code: await h.code(poolId) };
}

describe('offline borrowing', () => {
  it('a borrow keeps the held points for its length through a disconnect, then they return at its end', async () => {
    const { poolId, code } = await borrowPool({ reclaim: 'on-disconnect', disconnectGraceSeconds: 5, leaseTtlSeconds: 60 });
    const a = await gw(poolId, code, 100);
    const before = Math.floor(Date.now() / 1000);
    const b = await lease(a.credential, '/api/v1/agent/borrow', { durationSec: 1800 });
    const claims = decodeJwt(b.lease) as Record<string, unknown>;
    expect(claims.borrow).toBe(true);
    expect(claims.disconnectGraceSec).toBeUndefined();
    expect(claims.points).toEqual({ tags: 100, connections: 1 });
    expect(Number(claims.exp) - before).toBeGreaterThanOrEqual(1799);
    const [row] = await h.db.database.sql<{ borrow: boolean }[]>`select borrow from leases where id = ${b.jti}`;
    expect(row!.borrow).toBe(true);
    await ack(a.credential, b.jti);
    // Disconnect, and let the on-disconnect reclaim run well past the grace: the borrow is not reclaimed.
    await h.services.presence.set(a.gatewayId, false, 'ws');
    await h.db.database.sql`update gateways set presence_changed_at = now() - interval '1 hour' where id = ${a.gatewayId}`;
    await h.services.leaseEndings.reclaimDisconnected(0);
    await h.services.leaseEndings.sweep();
    expect((await pool(poolId)).held.tags).toBe(100);
    expect((await gateway(a.gatewayId)).held.tags).toBe(100);
    // The borrow's end: its points return.
    await h.db.database.sql`update leases set expires_at = now() - interval '1 second' where id = ${b.jti}`;
    expect((await pool(poolId)).held.tags).toBe(0);
  });

  it('an early return on reconnect: the ordinary lease acknowledged ends the borrow', async () => {
    const { poolId, code } = await borrowPool();
    const a = await gw(poolId, code, 100);
    const b = await lease(a.credential, '/api/v1/agent/borrow', { durationSec: 3600 });
    await ack(a.credential, b.jti);
    const back = await lease(a.credential, '/api/v1/agent/borrow/return', 'none');
    expect((decodeJwt(back.lease) as Record<string, unknown>).borrow).toBeUndefined();
    await ack(a.credential, back.jti);
    const [row] = await h.db.database.sql<{ state: string }[]>`select state from leases where id = ${b.jti}`;
    expect(row!.state).toBe('superseded');
    // A new borrow is allowed again (the per-gateway cap counts live borrows).
    expect((await h.api('POST', '/api/v1/agent/borrow', { durationSec: 600 }, a.credential)).status).toBe(200);
  });

  it('caps: per gateway, pool fraction, longest duration, off; refusals change nothing', async () => {
    const { poolId, code } = await borrowPool();
    const a = await gw(poolId, code, 200);
    const b = await gw(poolId, code, 100);
    expect((await h.api('POST', '/api/v1/agent/borrow', { durationSec: 3601 }, a.credential)).status).toBe(400);
    expect((await h.api('POST', '/api/v1/agent/borrow', { durationSec: 600 }, a.credential)).status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/borrow', { durationSec: 600 }, a.credential)).status).toBe(409); // one per gateway
    const over = await h.api<{ most?: number }>('POST', '/api/v1/agent/borrow', { durationSec: 600 }, b.credential); // 200 + 100 > 250
    expect(over.status).toBe(409);
    expect(over.body.most).toBe(250);
    const [n] = await h.db.database.sql<{ n: string }[]>`select count(*) as n from leases where gateway_id = ${b.gatewayId} and borrow`;
    expect(Number(n!.n)).toBe(0);
    await h.api('PUT', `/api/v1/pools/${poolId}/policy`, { borrowMaxSec: 0 });
    expect((await h.api('POST', '/api/v1/agent/borrow', { durationSec: 600 }, b.credential)).status).toBe(403);
  });

  it('a borrow by a gateway waiting for points keeps its place in the queue', async () => {
    // Found by the issue 21 invariant mix: a borrow cleared pending_since, so the gateway lost its
    // place and its pending timeout started again.
    const { poolId, code } = await borrowPool();
    await gw(poolId, code, 900);
    const b = await gw(poolId, code, 200); // 100 of 200 free: 100 pending
    const since = async () =>
      (await h.db.database.sql<{ t: Date | null }[]>`select pending_since as t from gateways where id = ${b.gatewayId}`)[0]!.t;
    const before = await since();
    expect(before, 'the second gateway waits for 100 tags').not.toBeNull();
    const borrowed = await lease(b.credential, '/api/v1/agent/borrow', { durationSec: 600 });
    expect((decodeJwt(borrowed.lease) as { points: { tags: number } }).points.tags).toBe(100);
    expect(await since()).toEqual(before);
  });
});
