import { describe, expect, it } from 'vitest';
import { randomHardwareId, useHarness } from '../../helpers/api-harness.js';
import { expectDatabaseUnchanged } from './db-snapshot.js';
import type { ProblemBody } from './route-fixtures.js';

const h = useHarness();

interface Points {
  tags: number;
  connections: number;
}
interface GatewayBody {
  allocation: Points & { plugins: string[] };
  held: Points;
}
interface PoolBody {
  allocated: Points;
  held: Points;
  free: Points;
}

const allocate = (gatewayId: string, body: Record<string, unknown>) =>
  h.api<GatewayBody & ProblemBody>('PUT', `/api/v1/gateways/${gatewayId}/allocation`, body);
const pool = async (id: string) => (await h.api<PoolBody>('GET', `/api/v1/pools/${id}`)).body;
const lease = (credential: string) => h.api<{ jti: string } & ProblemBody>('POST', '/api/v1/agent/lease', {}, credential);

describe('allocations', () => {
  it('reserving beyond the free points gets 409 insufficient-points with the requested and free figures', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = await h.code(poolId);
    const a = await h.enroll(code);
    const b = await h.enroll(code);
    expect((await allocate(a.gatewayId, { tags: 80, connections: 4, reserved: true })).status).toBe(200);
    // Not reserved, the same allocation is an entitlement and is accepted (F2 oversubscription).
    expect((await allocate(b.gatewayId, { tags: 30, connections: 2 })).status).toBe(200);
    expect((await allocate(b.gatewayId, { tags: 0, connections: 0 })).status).toBe(200);

    await expectDatabaseUnchanged(h, async () => {
      const r = await allocate(b.gatewayId, { tags: 30, connections: 2, reserved: true });
      expect(r.status).toBe(409);
      expect(r.contentType).toMatch(/^application\/problem\+json/);
      expect(r.body.name).toBe('insufficient-points');
      expect(r.body.requested).toEqual({ tags: 30, connections: 2 });
      expect(r.body.free).toEqual({ tags: 20, connections: 6 });
      expect(r.body.detail).toMatch(/tags requested 30, at most 20 available/);
    });
    // Exactly what is free fits.
    expect((await allocate(b.gatewayId, { tags: 20, connections: 6, reserved: true })).status).toBe(200);
    expect(await pool(poolId)).toMatchObject({ allocated: { tags: 100, connections: 10 }, free: { tags: 0, connections: 0 } });
    const more = await allocate(b.gatewayId, { tags: 20, connections: 7, reserved: true });
    expect(more.status).toBe(409);
    expect(more.body.requested).toEqual({ tags: 20, connections: 7 });
    expect(more.body.free).toEqual({ tags: 20, connections: 6 });
  });

  it('plugins outside the pool license get 400 naming body.plugins', async () => {
    const poolId = await h.pool({ plugins: ['OPC UA'] });
    const gw = await h.enroll(await h.code(poolId));
    await expectDatabaseUnchanged(h, async () => {
      const r = await allocate(gw.gatewayId, { tags: 10, connections: 1, plugins: ['OPC UA', 'Modbus TCP'] });
      expect(r.status).toBe(400);
      expect(r.body.name).toBe('validation-failed');
      expect(r.body.errors?.map((e) => e.path)).toEqual(['body.plugins']);
      expect(r.body.detail).toContain('Modbus TCP');
      expect(r.body.poolPlugins).toEqual(['OPC UA']);
    });
    const ok = await allocate(gw.gatewayId, { tags: 10, connections: 1, plugins: ['OPC UA'] });
    expect(ok.status).toBe(200);
    expect(ok.body.allocation.plugins).toEqual(['OPC UA']);
  });

  it('lowering below reported usage gets 409 below-usage (code 13008) unless forced', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    expect((await allocate(gw.gatewayId, { tags: 60, connections: 6 })).status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/usage', { tags: 50, connections: 3 }, gw.credential)).status).toBe(204);
    const view = await h.api<{ usage: Points | null }>('GET', `/api/v1/gateways/${gw.gatewayId}`);
    expect(view.body.usage).toMatchObject({ tags: 50, connections: 3 });

    await expectDatabaseUnchanged(h, async () => {
      const r = await allocate(gw.gatewayId, { tags: 40, connections: 6 });
      expect(r.status).toBe(409);
      expect(r.body.name).toBe('below-usage');
      expect(r.body.code).toBe(13008);
      expect(r.body.requested).toEqual({ tags: 40, connections: 6 });
      expect(r.body.inUse).toEqual({ tags: 50, connections: 3 });
      expect(r.body.detail).toMatch(/tags 50 in use > 40/);
    });
    expect((await allocate(gw.gatewayId, { tags: 40, connections: 6 })).body.detail).toMatch(/refuses every new tags.*stop-excess.*force: true/);
    // Lowering to what is in use is fine.
    expect((await allocate(gw.gatewayId, { tags: 50, connections: 3 })).status).toBe(200);
    const forced = await allocate(gw.gatewayId, { tags: 40, connections: 2, force: true });
    expect(forced.status).toBe(200);
    expect(forced.body.allocation).toMatchObject({ tags: 40, connections: 2 });
    const audit = await h.api<{ items: { action: string; before: unknown; after: unknown }[] }>('GET', `/api/v1/audit?gatewayId=${gw.gatewayId}&limit=1`);
    expect(audit.body.items[0]).toMatchObject({ action: 'allocation.changed.forced', before: { tags: 50, connections: 3 }, after: { tags: 40, connections: 2 } });
  });

  it('a raise that still stays below reported usage needs no force (issue 17 finding 8)', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    expect((await allocate(gw.gatewayId, { tags: 10, connections: 2 })).status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/usage', { tags: 45, connections: 5 }, gw.credential)).status).toBe(204);
    const raised = await allocate(gw.gatewayId, { tags: 20, connections: 2 });
    expect(raised.status).toBe(200);
    expect(raised.body.allocation).toMatchObject({ tags: 20, connections: 2 });
    const audit = await h.api<{ items: { action: string }[] }>('GET', `/api/v1/audit?gatewayId=${gw.gatewayId}&limit=1`);
    expect(audit.body.items[0]?.action).toBe('allocation.changed');
    // Lowering the other kind below its usage still needs force.
    expect((await allocate(gw.gatewayId, { tags: 20, connections: 1 })).status).toBe(409);
  });

  it('a decommissioned gateway cannot get leases and frees its seat and its points', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const created = await h.api<{ id: string; code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 1 });
    const gw = await h.enroll(created.body.code);
    expect((await allocate(gw.gatewayId, { tags: 70, connections: 5 })).status).toBe(200);
    expect((await lease(gw.credential)).status).toBe(200);
    await h.api('POST', '/api/v1/agent/lease/release', undefined, gw.credential);
    // The only seat is taken.
    expect((await h.api<ProblemBody>('POST', '/api/v1/enroll', { activationCode: created.body.code, hardwareId: randomHardwareId() }, null)).body.name).toBe(
      'activation-code-exhausted',
    );

    const del = await h.api<GatewayBody>('DELETE', `/api/v1/gateways/${gw.gatewayId}`);
    expect(del.status).toBe(200);
    expect(del.body.allocation).toMatchObject({ tags: 0, connections: 0 });

    const refused = await lease(gw.credential);
    expect(refused.status).toBe(401);
    expect(refused.body.name).toBe('unauthorized');
    expect((await h.api('POST', '/api/v1/agent/usage', { tags: 1, connections: 1 }, gw.credential)).status).toBe(401);
    const noAlloc = await allocate(gw.gatewayId, { tags: 10, connections: 1 });
    expect(noAlloc.status).toBe(409);
    expect(noAlloc.body.detail).toMatch(/decommissioned/);

    const codes = await h.api<{ seatsUsed: number }[]>('GET', `/api/v1/pools/${poolId}/activation-codes`);
    expect(codes.body[0]?.seatsUsed).toBe(0);
    expect(await pool(poolId)).toMatchObject({ allocated: { tags: 0, connections: 0 }, held: { tags: 0, connections: 0 } });
    // The freed seat takes a new gateway.
    const next = await h.enroll(created.body.code);
    expect(next.gatewayId).not.toBe(gw.gatewayId);
    expect((await allocate(next.gatewayId, { tags: 100, connections: 10 })).status).toBe(200);
  });
});
