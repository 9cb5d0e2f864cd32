import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolView } from '../../../shared/protocol/rest.js';
import { gateways } from '../../../server/db/schema.js';
import { randomHardwareId, startHarness, type Harness } from '../../helpers/api-harness.js';

let h: Harness;
let poolId: string;
let ids: string[] = [];

/**
 * Issue 20, bulk: 1,000 gateways in one action, one transaction, the pool's rules kept, one audit event
 * per gateway. Allocations are entitlements (F2): what limits them is the pool's oversubscription cap,
 * here 1.0 (every allocation can always be served).
 */
beforeAll(async () => {
  h = await startHarness();
  poolId = await h.pool({ name: 'bulk-pool', tags: 1500, connections: 1000, settings: { maxOversubscription: 1 } });
  // 1,000 enrolled gateways, written directly: enrolling each over HTTP is not what is under test.
  const rows = Array.from({ length: 1000 }, (_, n) => ({ poolId, name: `gw-${String(n).padStart(4, '0')}`, hardwareId: randomHardwareId(), credentialHash: 'unused' }));
  const inserted = await h.db.database.db.insert(gateways).values(rows).returning({ id: gateways.id });
  ids = inserted.map((r) => r.id);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const pool = async () => (await h.api<PoolView>('GET', `/api/v1/pools/${poolId}`)).body;
const auditCount = async (action: string) =>
  (await h.db.database.db.execute<{ n: number }>(sql`select count(*)::int as n from audit_events where action = ${action} and pool_id = ${poolId}`))[0]!.n;

describe('POST /api/v1/gateways/allocations', () => {
  it('sets 1,000 gateways in one request, with one audit event each', async () => {
    const res = await h.api<{ changed: number }>('POST', '/api/v1/gateways/allocations', { mode: 'set', items: ids.map((gatewayId) => ({ gatewayId, tags: 1, connections: 1 })) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.changed).toBe(1000);
    const p = await pool();
    expect(p.allocated).toEqual({ tags: 1000, connections: 1000 });
    expect(await auditCount('allocation.changed')).toBe(1000);
  });

  it('refuses a plan that does not fit as a whole, naming the gateway and the excess, and changes nothing', async () => {
    // One more tag each would allocate 2,000 of a 1,500 cap: refused at the first gateway past it (the 501st).
    const res = await h.api<{ name: string; detail: string; gatewayId: string; excess: { kind: string }[] }>('POST', '/api/v1/gateways/allocations', {
      mode: 'add',
      items: ids.map((gatewayId) => ({ gatewayId, tags: 1 })),
    });
    expect(res.status).toBe(409);
    expect(res.body.name).toBe('oversubscription-cap');
    expect(res.body.detail).toMatch(/^gw-\d{4} \([0-9a-f-]{36}\): pool bulk-pool allows allocations up to 1 × its limit: tags would be 1501 allocated > 1500; nothing was changed$/);
    expect(ids).toContain(res.body.gatewayId);
    expect((await pool()).allocated).toEqual({ tags: 1000, connections: 1000 });
    expect(await auditCount('allocation.changed')).toBe(1000);
  });

  it('adds where it fits, keeps the kind left out, and counts lowerings first', async () => {
    const half = ids.slice(0, 500);
    const add = await h.api('POST', '/api/v1/gateways/allocations', { mode: 'add', items: half.map((gatewayId) => ({ gatewayId, tags: 1 })) });
    expect(add.status, JSON.stringify(add.body)).toBe(200);
    expect((await pool()).allocated).toEqual({ tags: 1500, connections: 1000 });
    // The pool is full; lowering the first gateway to 0 frees the tag a raise of the last one needs, in one request.
    const swap = await h.api('POST', '/api/v1/gateways/allocations', {
      items: [
        { gatewayId: ids[999], tags: 2 },
        { gatewayId: ids[0], tags: 1 },
      ],
    });
    expect(swap.status, JSON.stringify(swap.body)).toBe(200);
    expect((await pool()).allocated).toEqual({ tags: 1500, connections: 1000 });
  });

  it('refuses bad input with 4xx and changes nothing', async () => {
    const unknown = await h.api('POST', '/api/v1/gateways/allocations', { items: [{ gatewayId: ids[1], tags: 0 }, { gatewayId: '00000000-0000-4000-8000-000000000000', tags: 0 }] });
    expect(unknown.status).toBe(404);
    const repeated = await h.api('POST', '/api/v1/gateways/allocations', { items: [{ gatewayId: ids[1], tags: 0 }, { gatewayId: ids[1], tags: 0 }] });
    expect(repeated.status).toBe(400);
    const viewer = await h.api('POST', '/api/v1/gateways/allocations', { items: [{ gatewayId: ids[1], tags: 0 }] }, await h.token('viewer'));
    expect(viewer.status).toBe(403);
    expect((await pool()).allocated).toEqual({ tags: 1500, connections: 1000 });
  });
});
