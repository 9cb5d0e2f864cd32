import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { leaseClaimsSchema, LEASE_AUDIENCE } from '../../shared/protocol/lease-claims.js';
import { useHarness } from '../helpers/api-harness.js';

const h = useHarness();

type PoolBody = { held: { tags: number; connections: number }; free: { tags: number; connections: number }; allocated: { tags: number } };
const pool = async (id: string) => (await h.api<PoolBody>('GET', `/api/v1/pools/${id}`)).body;
const lease = async (credential: string, renewal = false) => h.api<{ lease: string; jti: string; seq: number; expiresAt: number; ttl: number }>('POST', '/api/v1/agent/lease', { renewal }, credential);

describe('leases', () => {
  it('are EdDSA JWTs with every F3 claim, verifiable against the served JWKS', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10, plugins: ['OPC UA'] });
    const gw = await h.enroll(await h.code(poolId));
    expect((await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 40, connections: 4, plugins: ['OPC UA'] })).status).toBe(200);
    const r = await lease(gw.credential);
    expect(r.status).toBe(200);
    const jwks = (await h.api<JSONWebKeySet>('GET', '/.well-known/jwks.json', undefined, null)).body;
    const { payload, protectedHeader } = await jwtVerify(r.body.lease, createLocalJWKSet(jwks), { audience: LEASE_AUDIENCE, issuer: 'floatlease-test', algorithms: ['EdDSA'] });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(jwks.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
    const claims = leaseClaimsSchema.parse(payload);
    expect(claims.sub).toBe(gw.gatewayId);
    expect(claims.pool).toBe(poolId);
    expect(claims.points).toEqual({ tags: 40, connections: 4 });
    expect(claims.plugins).toEqual(['OPC UA']);
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims.seq).toBe(r.body.seq);
  });

  it('have strictly increasing seq and renewals take no second allocation', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 60, connections: 5 });
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await lease(gw.credential, i > 0);
      seqs.push(r.body.seq);
      await h.api('POST', '/api/v1/agent/lease/ack', { jti: r.body.jti }, gw.credential);
    }
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(5);
    // Five renewals, one allocation: the pool holds 60 tags, not 300.
    expect((await pool(poolId)).held).toEqual({ tags: 60, connections: 5 });
    // Concurrent renewals (a reconnect storm) still hold once.
    const storm = await Promise.all(Array.from({ length: 10 }, () => lease(gw.credential, true)));
    expect(storm.every((s) => s.status === 200)).toBe(true);
    expect(new Set(storm.map((s) => s.body.seq)).size).toBe(10);
    expect((await pool(poolId)).held).toEqual({ tags: 60, connections: 5 });
  });

  it('lowering an allocation frees points only when the agent acknowledges the smaller lease', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 80, connections: 8 });
    const big = await lease(gw.credential);
    await h.api('POST', '/api/v1/agent/lease/ack', { jti: big.body.jti }, gw.credential);
    expect((await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 20, connections: 2 })).status).toBe(200);
    // The agent may still be using the 80-tag lease.
    expect((await pool(poolId)).held).toEqual({ tags: 80, connections: 8 });
    const small = await lease(gw.credential);
    expect((await pool(poolId)).held).toEqual({ tags: 80, connections: 8 });
    await h.api('POST', '/api/v1/agent/lease/ack', { jti: small.body.jti }, gw.credential);
    expect((await pool(poolId)).held).toEqual({ tags: 20, connections: 2 });
    expect((await pool(poolId)).free).toEqual({ tags: 80, connections: 8 });
  });

  it('release returns the points at once', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 50, connections: 5 });
    await lease(gw.credential);
    await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 0, connections: 0 });
    expect((await pool(poolId)).held.tags).toBe(50);
    const rel = await h.api<{ released: number }>('POST', '/api/v1/agent/lease/release', undefined, gw.credential);
    expect(rel.body.released).toBe(1);
    expect((await pool(poolId)).held).toEqual({ tags: 0, connections: 0 });
  });

  it('expired leases stop counting and the sweeper records them', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10, settings: { leaseTtlSeconds: 15 } });
    const gw = await h.enroll(await h.code(poolId));
    await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 30, connections: 3 });
    const l = await lease(gw.credential);
    await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 0, connections: 0 });
    expect((await pool(poolId)).held.tags).toBe(30);
    // Age the lease in the database rather than waiting 15 s.
    await h.db.database.sql`update leases set expires_at = now() - interval '1 second' where id = ${l.body.jti}`;
    expect((await pool(poolId)).held.tags).toBe(0);
    expect(await h.services.leaseEndings.sweep()).toBeGreaterThanOrEqual(1);
    const audit = await h.api<{ items: { action: string; subject: string }[] }>('GET', `/api/v1/audit?gatewayId=${gw.gatewayId}&action=lease.expired`);
    expect(audit.body.items.map((e) => e.subject)).toContain(l.body.jti);
  });

  it('an expired pool license stops grants and renewals', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    expect((await lease(gw.credential)).status).toBe(200);
    await h.db.database.sql`update pools set license_expires_at = now() - interval '1 second' where id = ${poolId}`;
    const refused = await lease(gw.credential, true);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ name: 'license-expired' });
    // An allocation is an entitlement (F2): raising it is fine; reserving points is not.
    expect((await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 10, connections: 1 })).status).toBe(200);
    const reserve = await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 20, connections: 1, reserved: true });
    expect(reserve.status).toBe(409);
    expect(reserve.body).toMatchObject({ name: 'license-expired' });
  });

  it('signing-key rotation: new leases use the new key; the old key stays published while its leases live', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    const before = await lease(gw.credential);
    const oldKid = decodeProtectedHeader(before.body.lease).kid;
    const rotated = await h.services.keys.rotate();
    await h.services.publishedKeys.record(h.services.keys.keys());
    const after = await lease(gw.credential);
    expect(decodeProtectedHeader(after.body.lease).kid).toBe(rotated.kid);
    const kids = async () => (await h.api<JSONWebKeySet>('GET', '/.well-known/jwks.json', undefined, null)).body.keys.map((k) => k.kid);
    expect(await kids()).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
    // Once no live lease was signed by the old key, it leaves the JWKS.
    await h.db.database.sql`update leases set expires_at = now() - interval '1 second' where kid = ${oldKid!}`;
    h.services.publishedKeys.invalidate([]); // its 5 s cache is not the subject: read afresh
    expect(await kids()).not.toContain(oldKid);
    expect(await kids()).toContain(rotated.kid);
  });

  it('a late offline from the transport an agent left does not mark it offline', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    const online = async () => (await h.api<{ online: boolean; transport: string }>('GET', `/api/v1/gateways/${gw.gatewayId}`)).body;
    await h.services.presence.set(gw.gatewayId, true, 'mqtt');
    await h.services.presence.set(gw.gatewayId, true, 'ws'); // failed over to WebSocket
    await h.services.presence.set(gw.gatewayId, false, 'mqtt'); // the MQTT last will arrives late
    expect(await online()).toMatchObject({ online: true, transport: 'ws' });
    await h.services.presence.set(gw.gatewayId, false, 'ws');
    expect(await online()).toMatchObject({ online: false });
  });
});
