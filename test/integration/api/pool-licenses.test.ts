import { describe, expect, it } from 'vitest';
import { reviewOverCommitment } from '../../../server/pools/pool-service.js';
import { useHarness } from '../../helpers/api-harness.js';
import { expectDatabaseUnchanged } from './db-snapshot.js';
import type { ProblemBody } from './route-fixtures.js';

const h = useHarness();

interface Points {
  tags: number;
  connections: number;
}
interface LicenseBody {
  id: string;
  points: Points;
  plugins: string[];
  replacedAt: string | null;
  forced: boolean;
}
interface PoolBody {
  capacity: Points;
  plugins: string[];
  license: LicenseBody | null;
  overCommitted: boolean;
  held: Points;
}

const upload = (poolId: string, license: string, force?: boolean) =>
  h.api<PoolBody & ProblemBody>('PUT', `/api/v1/pools/${poolId}/license`, force === undefined ? { license } : { license, force });
const history = async (poolId: string) => (await h.api<LicenseBody[]>('GET', `/api/v1/pools/${poolId}/licenses`)).body;
const pool = async (poolId: string) => (await h.api<PoolBody>('GET', `/api/v1/pools/${poolId}`)).body;
const allocate = (gatewayId: string, tags: number, connections: number, reserved?: boolean) =>
  h.api<ProblemBody>('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags, connections, ...(reserved === undefined ? {} : { reserved }) });
const lease = (credential: string, renewal = false) => h.api<{ jti: string } & ProblemBody>('POST', '/api/v1/agent/lease', { renewal }, credential);

function tamper(jws: string): string {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { points: Points };
  claims.points.tags *= 100;
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

describe('pool licenses', () => {
  it('an upload replaces the license and the history keeps the old one', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10, plugins: ['OPC UA'] });
    const [first] = await history(poolId);
    const r = await upload(poolId, await h.license({ tags: 200, connections: 20, plugins: ['OPC UA', 'Modbus TCP'] }));
    expect(r.status).toBe(200);
    expect(r.body.capacity).toEqual({ tags: 200, connections: 20 });
    expect(r.body.plugins).toEqual(['OPC UA', 'Modbus TCP']);

    const list = await history(poolId);
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ id: r.body.license?.id, points: { tags: 200, connections: 20 }, replacedAt: null });
    expect(list[1]).toMatchObject({ id: first!.id, points: { tags: 100, connections: 10 } });
    expect(list[1]!.replacedAt).not.toBeNull();
  });

  it('refuses a license from an untrusted key, a tampered one and garbage with 400 license-invalid, changing nothing', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const genuine = await h.license({ tags: 500, connections: 50 });
    await expectDatabaseUnchanged(h, async () => {
      for (const doc of [await h.foreignLicense({ tags: 500, connections: 50 }), tamper(genuine), 'not-a-license', `${genuine}x`]) {
        const r = await upload(poolId, doc);
        expect(r.status, doc.slice(0, 20)).toBe(400);
        expect(r.contentType).toMatch(/^application\/problem\+json/);
        expect(r.body.name).toBe('license-invalid');
        expect(r.body.detail?.length).toBeGreaterThan(5);
      }
    });
    expect((await pool(poolId)).capacity).toEqual({ tags: 100, connections: 10 });
  });

  it('refuses an expired license with 409 license-expired, changing nothing', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    await expectDatabaseUnchanged(h, async () => {
      const r = await upload(poolId, await h.license({ tags: 500, connections: 50, expiresInSec: -30 }), true);
      expect(r.status).toBe(409);
      expect(r.body.name).toBe('license-expired');
      expect(r.body.detail).toMatch(/expired at/);
    });
  });

  // Reserved gateways: their allocation is held at once (F2), so license state and free points govern
  // raising it, as they govern every grant.
  it('an expired pool license stops grants and renewals', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    expect((await allocate(gw.gatewayId, 10, 1, true)).status).toBe(200);
    expect((await lease(gw.credential)).status).toBe(200);
    await h.db.database.sql`update pools set license_expires_at = now() - interval '1 second' where id = ${poolId}`;
    for (const renewal of [false, true]) {
      const r = await lease(gw.credential, renewal);
      expect(r.status).toBe(409);
      expect(r.body.name).toBe('license-expired');
    }
    expect((await allocate(gw.gatewayId, 20, 1)).status).toBe(409);
  });

  it('below what is held: 409 license-shortfall per kind, unchanged pool; forced: over-committed until it fits again', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = await h.code(poolId);
    const a = await h.enroll(code);
    const b = await h.enroll(code);
    expect((await allocate(a.gatewayId, 60, 4, true)).status).toBe(200);
    expect((await allocate(b.gatewayId, 20, 2, true)).status).toBe(200);
    const big = await lease(a.credential);
    expect((await h.api('POST', '/api/v1/agent/lease/ack', { jti: big.body.jti }, a.credential)).status).toBe(200);

    const smaller = await h.license({ tags: 50, connections: 8 });
    await expectDatabaseUnchanged(h, async () => {
      const r = await upload(poolId, smaller);
      expect(r.status).toBe(409);
      expect(r.body.name).toBe('license-shortfall');
      expect(r.body.shortfalls).toEqual([{ kind: 'tags', held: 80, limit: 50, shortfall: 30 }]);
      expect(r.body.detail).toMatch(/tags 80 held > 50 \(short by 30\)/);
      expect(r.body.detail).toMatch(/force/);
    });
    expect((await pool(poolId)).capacity).toEqual({ tags: 100, connections: 10 });
    expect(await history(poolId)).toHaveLength(1);

    const forced = await upload(poolId, smaller, true);
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ overCommitted: true, capacity: { tags: 50, connections: 8 } });
    expect(forced.body.license?.forced).toBe(true);

    // No new points while over-committed, on any kind, for any gateway.
    for (const [gw, tags, connections] of [[b, 21, 2], [b, 20, 3], [a, 61, 4]] as const) {
      const r = await allocate(gw.gatewayId, tags, connections);
      expect(r.status).toBe(409);
      expect(r.body.name).toBe('pool-over-committed');
    }
    // Renewals still work and lowering is allowed.
    expect((await lease(a.credential, true)).status).toBe(200);
    expect((await allocate(a.gatewayId, 30, 4)).status).toBe(200);
    expect(await reviewOverCommitment(h.db.database.db)).toEqual([]);
    // Held falls within the limit once the agent acknowledges the smaller lease.
    const small = await lease(a.credential, true);
    expect((await h.api('POST', '/api/v1/agent/lease/ack', { jti: small.body.jti }, a.credential)).status).toBe(200);
    expect((await pool(poolId)).held).toEqual({ tags: 50, connections: 6 });

    expect(await reviewOverCommitment(h.db.database.db)).toEqual([poolId]);
    expect((await pool(poolId)).overCommitted).toBe(false);
    const audit = await h.api<{ items: { action: string; actor: string }[] }>('GET', `/api/v1/audit?poolId=${poolId}&action=pool.fits-license`);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]?.actor).toBe('system:sweeper');
    // It fits exactly: raising now fails for lack of points, not for over-commitment.
    const raise = await allocate(b.gatewayId, 21, 2);
    expect(raise.body.name).toBe('insufficient-points');
    expect((await allocate(b.gatewayId, 10, 2)).status).toBe(200);
    expect((await allocate(a.gatewayId, 40, 4)).status).toBe(200);
  });
});
