import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PoolView } from '../../../shared/protocol/rest.js';
import { gateways } from '../../../server/db/schema.js';
import { ADMIN_TOKEN, randomHardwareId, useHarness } from '../../helpers/api-harness.js';

const h = useHarness();
let poolId: string;
let ids: string[] = [];

/**
 * Issue 20, bulk: 1,000 gateways in one action, one transaction, the pool's rules kept, one audit event
 * per gateway. Allocations are entitlements (F2): what limits them is the pool's oversubscription cap,
 * here 1.0 (every allocation can always be served).
 */
beforeAll(async () => {
  poolId = await h.pool({ name: 'bulk-pool', tags: 1500, connections: 1000, settings: { maxOversubscription: 1 } });
  // 1,000 enrolled gateways, written directly: enrolling each over HTTP is not what is under test.
  const rows = Array.from({ length: 1000 }, (_, n) => ({ poolId, name: `gw-${String(n).padStart(4, '0')}`, hardwareId: randomHardwareId(), credentialHash: 'unused' }));
  const inserted = await h.db.database.db.insert(gateways).values(rows).returning({ id: gateways.id });
  ids = inserted.map((r) => r.id);
}, 120_000);

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

const csvOf = async (path: string, token = ADMIN_TOKEN) => {
  const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', disposition: res.headers.get('content-disposition') ?? '', text: await res.text() };
};

describe('selection, bulk release and CSV exports (the console bulk work)', () => {
  it('lists every id the filter matches, beyond one page', async () => {
    const all = await h.api<{ total: number; ids: string[]; truncated: boolean }>('GET', `/api/v1/gateways/ids?poolId=${poolId}&q=gw-0`);
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(1000);
    expect(new Set(all.body.ids)).toEqual(new Set(ids));
    expect(all.body.truncated).toBe(false);
    const some = await h.api<{ total: number; ids: string[] }>('GET', `/api/v1/gateways/ids?poolId=${poolId}&q=gw-09`);
    expect(some.body.ids).toEqual(ids.slice(900, 1000));
    expect((await h.api('GET', '/api/v1/gateways/ids?limit=5')).status, 'paging is no filter').toBe(400);
  });

  it('exports the filtered gateways as escaped CSV, all rows, not one page', async () => {
    await h.db.database.db.insert(gateways).values([
      { poolId, name: 'odd, "quoted"\nname', hardwareId: randomHardwareId(), credentialHash: 'unused' },
      { poolId, name: '=cmd|calc', hardwareId: randomHardwareId(), credentialHash: 'unused' },
    ]);
    const csv = await csvOf(`/api/v1/gateways/export.csv?poolId=${poolId}&q=gw-`);
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.disposition).toMatch(/^attachment; filename="gateways-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]!.startsWith('id,name,pool_id,pool,online,')).toBe(true);
    expect(lines).toHaveLength(1001);
    expect(lines[1]).toContain(',gw-0000,');
    const odd = await csvOf(`/api/v1/gateways/export.csv?poolId=${poolId}&q=${encodeURIComponent('"')}`);
    expect(odd.text).toContain(',"odd, ""quoted""\nname",');
    const formula = await csvOf(`/api/v1/gateways/export.csv?poolId=${poolId}&q=cmd`);
    expect(formula.text).toContain(",'=cmd|calc,");
    expect((await csvOf(`/api/v1/gateways/export.csv`, 'fl_nope')).status).toBe(401);
  });

  it('releases many gateways in one transaction, each audited as a release, and refuses bad input whole', async () => {
    const first = ids.slice(0, 10);
    const before = (await pool()).allocated;
    const bad = await h.api('POST', '/api/v1/gateways/release', { gatewayIds: [...first, '00000000-0000-4000-8000-000000000000'] });
    expect(bad.status).toBe(404);
    expect((await pool()).allocated).toEqual(before);
    expect(await auditCount('allocation.released')).toBe(0);
    const viewer = await h.api('POST', '/api/v1/gateways/release', { gatewayIds: first }, await h.token('viewer'));
    expect(viewer.status).toBe(403);
    const res = await h.api<{ changed: number }>('POST', '/api/v1/gateways/release', { gatewayIds: first });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.changed).toBe(10);
    expect(await auditCount('allocation.released')).toBe(10);
    const page = await h.api<{ items: { gatewayId: string; allocation: { tags: number; connections: number } }[] }>('GET', `/api/v1/gateways?poolId=${poolId}&q=gw-000&limit=10`);
    expect(page.body.items.map((g) => g.allocation)).toEqual(Array(10).fill({ tags: 0, connections: 0, plugins: [] }));
  });

  it('exports the filtered audit trail in full, newest first', async () => {
    const csv = await csvOf('/api/v1/audit/export.csv?action=allocation.changed');
    expect(csv.status).toBe(200);
    const rows = csv.text.trimEnd().split('\r\n');
    expect(rows[0]).toBe('id,at,actor,action,pool_id,gateway_id,subject,before,after');
    const n = await auditCount('allocation.changed');
    expect(n).toBeGreaterThan(1000);
    expect(rows).toHaveLength(n + 1);
    const idsInFile = rows.slice(1).map((r) => Number(r.split(',')[0]));
    expect(idsInFile).toEqual([...idsInFile].sort((a, b) => b - a));
    expect((await csvOf('/api/v1/audit/export.csv?limit=5')).status, 'the export takes no page size').toBe(400);
  });

  it("pages a code's seats through the gateway list", async () => {
    const code = await h.code(poolId, 3);
    for (let i = 0; i < 3; i++) await h.enroll(code);
    const codes = await h.api<{ id: string; codePrefix: string }[]>('GET', `/api/v1/pools/${poolId}/activation-codes`);
    const codeId = codes.body.find((c) => code.startsWith(c.codePrefix))!.id;
    const page = await h.api<{ total: number; items: unknown[] }>('GET', `/api/v1/gateways?codeId=${codeId}&limit=2`);
    expect(page.body.total).toBe(3);
    expect(page.body.items).toHaveLength(2);
  });
});
