import { describe, expect, it } from 'vitest';
import { randomHardwareId, useHarness } from '../../helpers/api-harness.js';
import type { ProblemBody } from './route-fixtures.js';

// Issue 17 finding 6: one gateway per hardware identifier on the whole controller, whatever code.
const h = useHarness();

interface Points {
  tags: number;
  connections: number;
}
interface Enrolled {
  gatewayId: string;
  poolId: string;
  credential: string;
  reenrolled: boolean;
}
const enroll = (activationCode: string, hardwareId: string) => h.api<Enrolled & ProblemBody & { retryAfterSeconds?: number }>('POST', '/api/v1/enroll', { activationCode, hardwareId }, null);
const pool = async (id: string) => (await h.api<{ held: Points; gateways?: number }>('GET', `/api/v1/pools/${id}`)).body;
const gatewaysIn = async (poolId: string) => (await h.api<{ total: number }>('GET', `/api/v1/gateways?poolId=${poolId}`)).body.total;
const seatsUsed = async (poolId: string) => (await h.api<{ seatsUsed: number }[]>('GET', `/api/v1/pools/${poolId}/activation-codes`)).body.reduce((a, c) => a + c.seatsUsed, 0);
const audit = async (gatewayId: string) => (await h.api<{ items: { action: string; before: unknown; after: unknown }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&limit=20`)).body.items;

describe('one gateway per hardware identifier', () => {
  it('the same hardware with three codes of one pool is one gateway and one seat', async () => {
    const poolId = await h.pool();
    const codes = [await h.code(poolId, 5), await h.code(poolId, 5), await h.code(poolId, 5)];
    const hw = randomHardwareId();
    const results: Enrolled[] = [];
    for (const c of codes) {
      const r = await enroll(c, hw);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      results.push(r.body);
    }
    expect(new Set(results.map((r) => r.gatewayId)).size).toBe(1);
    expect(results.map((r) => r.reenrolled)).toEqual([false, true, true]);
    expect(await gatewaysIn(poolId)).toBe(1);
    expect(await seatsUsed(poolId)).toBe(1);
    // Only the latest credential works.
    expect((await h.api('POST', '/api/v1/agent/lease', {}, results[0]!.credential)).status).toBe(401);
    expect((await h.api('POST', '/api/v1/agent/lease', {}, results[2]!.credential)).status).toBe(200);
  });

  it('a code of another pool moves the gateway there after its points in the old pool are released; the invariant holds throughout', async () => {
    const a = await h.pool({ tags: 100, connections: 10 });
    const b = await h.pool({ tags: 100, connections: 10 });
    const hw = randomHardwareId();
    const first = await enroll(await h.code(a), hw);
    expect(first.status).toBe(200);
    const gw = first.body.gatewayId;
    expect((await h.api('PUT', `/api/v1/gateways/${gw}/allocation`, { tags: 60, connections: 4 })).status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/lease', {}, first.body.credential)).status).toBe(200);
    expect((await pool(a)).held).toEqual({ tags: 60, connections: 4 });

    // Still holding a live lease in pool A: the move waits; A stops allocating to it but keeps counting the lease.
    const codeB = await h.code(b);
    const pending = await enroll(codeB, hw);
    expect(pending.status).toBe(409);
    expect(pending.body.detail).toMatch(/being released/);
    expect(pending.body.retryAfterSeconds).toBeGreaterThan(0);
    expect((await pool(a)).held).toEqual({ tags: 60, connections: 4 });
    expect(await gatewaysIn(b)).toBe(0);
    const view = await h.api<{ allocation: Points; poolId: string }>('GET', `/api/v1/gateways/${gw}`);
    expect(view.body).toMatchObject({ poolId: a, allocation: { tags: 0, connections: 0 } });

    // The agent releases its lease (or it expires): the move goes through.
    expect((await h.api('POST', '/api/v1/agent/lease/release', {}, first.body.credential)).status).toBe(200);
    expect((await pool(a)).held).toEqual({ tags: 0, connections: 0 });
    const moved = await enroll(codeB, hw);
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body).toMatchObject({ gatewayId: gw, poolId: b, reenrolled: true });
    expect(await gatewaysIn(a)).toBe(0);
    expect(await gatewaysIn(b)).toBe(1);
    expect(await seatsUsed(a)).toBe(0);
    expect(await seatsUsed(b)).toBe(1);
    expect((await pool(b)).held).toEqual({ tags: 0, connections: 0 });
    const actions = (await audit(gw)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['gateway.move.releasing', 'gateway.moved']));
    expect((await audit(gw)).find((e) => e.action === 'gateway.moved')).toMatchObject({ before: { poolId: a }, after: { poolId: b } });
  });
});
