import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { LeaseEndings } from '../../server/leases/lease-endings.js';
import { PresenceService } from '../../server/leases/presence-service.js';
import { markAllOfflineAtStart } from '../../server/leases/presence-reconciler.js';
import { useHarness } from '../helpers/api-harness.js';

const h = useHarness();

const MARGIN = 5;
type PoolBody = { held: { tags: number; connections: number }; disconnectGraceSeconds: number; reclaim: string };
const pool = async (id: string) => (await h.api<PoolBody>('GET', `/api/v1/pools/${id}`)).body;
const lease = (credential: string) => h.api<{ lease: string; jti: string }>('POST', '/api/v1/agent/lease', {}, credential);
const sql = () => h.db.database.db.$client;
/** The live leases' tags (what the gateway holds by lease, whatever its allocation). */
const leased = async (gatewayId: string) =>
  (await sql()<{ tags: number }[]>`select tags from leases where gateway_id = ${gatewayId} and ended_at is null`).reduce((m, l) => Math.max(m, l.tags), 0);

/** Presence and reclaim on a clock the test moves; grants keep the real one (they stamp last_seen_at). */
function clocked(startMs: number) {
  let now = startMs;
  const clock = { now: () => now };
  return { presence: new PresenceService(h.db.database.db, clock), endings: new LeaseEndings(h.db.database.db, clock), at: (ms: number) => void (now = startMs + ms) };
}

async function gatewayIn(settings: Record<string, unknown>, tags = 40) {
  const poolId = await h.pool({ tags: 100, connections: 10, settings });
  const gw = await h.enroll(await h.code(poolId));
  await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags, connections: 4 });
  const r = await lease(gw.credential);
  expect(r.status).toBe(200);
  return { poolId, ...gw, claims: decodeJwt(r.body.lease) };
}

const audits = async (gatewayId: string, action: string) =>
  sql()<{ after: Record<string, unknown> | null }[]>`select after from audit_events where gateway_id = ${gatewayId} and action = ${action} order by id`;

describe('reclaim: on-disconnect', () => {
  it('leases carry the grace; points return grace + margin after the controller lost the agent, not before', async () => {
    const g = await gatewayIn({ reclaim: 'on-disconnect', disconnectGraceSeconds: 30 });
    expect(g.claims.disconnectGraceSec).toBe(30);
    expect((await pool(g.poolId)).held.tags).toBe(40);
    const t = clocked(Date.now() + 1_000);
    await t.presence.set(g.gatewayId, true, 'mqtt');
    await t.presence.set(g.gatewayId, false, 'mqtt');
    // Going offline returns nothing by itself (what was seen: reclaimed 0.1 s after the broker stopped).
    expect(await leased(g.gatewayId)).toBe(40);
    t.at(30_000 + MARGIN * 1000 - 1);
    expect(await t.endings.reclaimDisconnected(MARGIN)).toBe(0);
    expect(await leased(g.gatewayId)).toBe(40);
    t.at(30_000 + MARGIN * 1000);
    expect(await t.endings.reclaimDisconnected(MARGIN)).toBe(1);
    expect(await leased(g.gatewayId)).toBe(0);
    expect(await audits(g.gatewayId, 'lease.reclaimed')).toEqual([{ after: expect.objectContaining({ reason: 'disconnected', graceSec: 30, marginSec: MARGIN }) }]);
    expect(await t.endings.reclaimDisconnected(MARGIN)).toBe(0);
  });

  it('a transport switch or a broker outage shorter than the grace returns nothing', async () => {
    const g = await gatewayIn({ reclaim: 'on-disconnect', disconnectGraceSeconds: 20 });
    const t = clocked(Date.now() + 1_000);
    await t.presence.set(g.gatewayId, true, 'mqtt');
    await t.presence.set(g.gatewayId, false, 'mqtt'); // the broker stopped
    t.at(19_000);
    await t.presence.set(g.gatewayId, true, 'ws'); // the agent failed over
    t.at(600_000);
    expect(await t.endings.reclaimDisconnected(MARGIN)).toBe(0);
    expect(await leased(g.gatewayId)).toBe(40);
  });

  it('the grace counts from the last time the controller heard from the agent, even offline (HTTP pull)', async () => {
    const g = await gatewayIn({ reclaim: 'on-disconnect', disconnectGraceSeconds: 30 });
    const t = clocked(Date.now() - 20_000);
    await t.presence.set(g.gatewayId, true, 'mqtt');
    await t.presence.set(g.gatewayId, false, 'mqtt'); // offline 20 s ago
    await lease(g.credential); // renewed over HTTP now: last seen now
    t.at(20_000 + 30_000 + MARGIN * 1000 - 1_000);
    expect(await t.endings.reclaimDisconnected(MARGIN)).toBe(0);
    t.at(20_000 + 30_000 + MARGIN * 1000 + 1_000);
    expect(await t.endings.reclaimDisconnected(MARGIN)).toBeGreaterThan(0);
    expect(await leased(g.gatewayId)).toBe(0);
  });

  it('a lease issued before the pool switched to on-disconnect carries no grace: it returns at its expiry only', async () => {
    const g = await gatewayIn({ reclaim: 'on-expiry' });
    expect(g.claims.disconnectGraceSec).toBeUndefined();
    expect((await h.api('PATCH', `/api/v1/pools/${g.poolId}`, { reclaim: 'on-disconnect', disconnectGraceSeconds: 10 })).status).toBe(200);
    await h.services.pusher.idle();
    const t = clocked(Date.now() + 1_000);
    await t.presence.set(g.gatewayId, true, 'mqtt');
    await t.presence.set(g.gatewayId, false, 'mqtt');
    t.at(100_000);
    await t.endings.reclaimDisconnected(MARGIN);
    // The old lease is still held (a pushed replacement, if any went out, would carry the grace).
    const live = await sql()<{ grace: number | null }[]>`
      select disconnect_grace_seconds as grace from leases where gateway_id = ${g.gatewayId} and ended_at is null`;
    expect(live.some((l) => l.grace === null)).toBe(true);
    expect(await leased(g.gatewayId)).toBe(40);
  });

  it('an on-expiry pool never reclaims on disconnect', async () => {
    const g = await gatewayIn({ reclaim: 'on-expiry' });
    const t = clocked(Date.now() + 1_000);
    await t.presence.set(g.gatewayId, true, 'mqtt');
    await t.presence.set(g.gatewayId, false, 'mqtt');
    t.at(250_000);
    expect(await t.endings.reclaimDisconnected(MARGIN)).toBe(0);
    expect(await leased(g.gatewayId)).toBe(40);
  });
});

describe('presence you can trust', () => {
  it('embedded broker start: gateways shown online go offline, audited once', async () => {
    const g = await gatewayIn({});
    const t = clocked(Date.now());
    await t.presence.set(g.gatewayId, true, 'mqtt');
    const reset = await markAllOfflineAtStart(sql(), Date.now());
    expect(reset.map((r) => r.gatewayId)).toContain(g.gatewayId);
    expect(await markAllOfflineAtStart(sql(), Date.now())).toEqual([]);
    const [row] = await sql()<{ online: boolean }[]>`select online from gateways where id = ${g.gatewayId}`;
    expect(row!.online).toBe(false);
    expect(await audits(g.gatewayId, 'gateway.offline')).toEqual([{ after: { transport: 'mqtt', reason: 'controller-start' } }]);
  });

  it('any message marks an offline gateway online; an online one keeps its transport; presence audited once', async () => {
    const g = await gatewayIn({});
    const t = clocked(Date.now());
    const state = async () => (await sql()<{ online: boolean; transport: string | null }[]>`select online, transport from gateways where id = ${g.gatewayId}`)[0];
    await t.presence.seen(g.gatewayId, 'mqtt'); // a renewal over MQTT of a gateway shown offline
    expect(await state()).toEqual({ online: true, transport: 'mqtt' });
    await t.presence.set(g.gatewayId, true, 'ws'); // failed over: its hello over WebSocket
    await t.presence.seen(g.gatewayId, 'mqtt'); // a late message from the transport it left
    expect(await state()).toEqual({ online: true, transport: 'ws' });
    await t.presence.set(g.gatewayId, false, 'mqtt'); // the old transport's will: says nothing
    expect(await state()).toEqual({ online: true, transport: 'ws' });
    expect(await audits(g.gatewayId, 'gateway.online')).toHaveLength(1);
  });
});
