import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { gateways, leases } from '../../../server/db/schema.js';
import { listQuery } from '../../../server/gateways/gateway-list-query.js';
import { gatewayStore, type GatewayListFilter } from '../../../server/gateways/gateway-store.js';
import { startHarness, type Harness } from '../../helpers/api-harness.js';

let h: Harness;
let rows: { id: string; name: string; hardwareId: string }[] = [];
let poolId: string;

/**
 * The gateway list's search (issue 20): name, gateway id or hardware id, case-insensitive. A search
 * that cannot be part of a uuid skips the id match (a cost at 10,000 gateways): same rows either way.
 */
beforeAll(async () => {
  h = await startHarness();
  poolId = await h.pool({ name: 'search-pool', tags: 100, connections: 100 });
  rows = await h.db.database.db
    .insert(gateways)
    .values([
      { poolId, name: 'Line-A press', hardwareId: 'HW-Zeta-0001', credentialHash: 'unused' },
      { poolId, name: 'line-b oven', hardwareId: 'hw-omega-0002', credentialHash: 'unused' },
      { poolId, name: 'packer 100%', hardwareId: 'cafe-0003', credentialHash: 'unused' },
    ])
    .returning({ id: gateways.id, name: gateways.name, hardwareId: gateways.hardwareId });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const search = async (q: string) => {
  const res = await h.api<{ total: number; items: { name: string }[] }>('GET', `/api/v1/gateways?q=${encodeURIComponent(q)}&sort=name`);
  expect(res.status).toBe(200);
  expect(res.body.total).toBe(res.body.items.length);
  return res.body.items.map((g) => g.name).sort();
};

describe('GET /api/v1/gateways?q=', () => {
  it('finds by name and hardware id in any case, and takes % and _ literally', async () => {
    expect(await search('LINE-')).toEqual(['Line-A press', 'line-b oven']);
    expect(await search('zeta')).toEqual(['Line-A press']);
    expect(await search('100%')).toEqual(['packer 100%']);
    expect(await search('line_')).toEqual([]);
    expect(await search('no such gateway')).toEqual([]);
  });

  it('finds by a fragment of the gateway id, upper or lower case, whole or in part', async () => {
    for (const g of rows) {
      expect(await search(g.id)).toEqual([g.name]);
      expect(await search(g.id.slice(9, 23).toUpperCase())).toEqual([g.name]);
    }
    // Hex that is also a hardware id fragment: both matches count.
    expect((await search('cafe')).includes('packer 100%')).toBe(true);
  });
});

/** A statement's plan, with sequential scans priced out so a small table still shows which index a plan can use. */
async function plan(f: GatewayListFilter): Promise<string> {
  const { sql: text, params } = new PgDialect().sqlToQuery(listQuery(f));
  return h.db.database.sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    const lines = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${text}`, params as never[]);
    return lines.map((l) => l['QUERY PLAN']).join('\n');
  });
}

describe('the gateway list at 10,000 gateways: one statement, indexed', () => {
  it('a page by name, either way, is the first entries of gateways_name_idx', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const p = await plan({ sort: 'name', order, limit: 50, offset: 0 });
      // The page is the first 50 entries of the index (ids only), no sort of the fleet under its limit;
      // its rows, read back by id, are put in order again.
      expect(p).toMatch(/Limit[^\n]*\n\s*->\s+Index (Only )?Scan (Backward )?using gateways_name_idx/);
    }
  });

  it('the list prices table scans out for a search the trigram index can answer, and only then', async () => {
    // What list() sends, seen through a wrapper of the database (the plans above assume it).
    const dialect = new PgDialect();
    const sent: string[] = [];
    const spy = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(t, key) {
          const value: unknown = Reflect.get(t, key);
          if (key === 'execute') return (statement: Parameters<typeof dialect.sqlToQuery>[0]) => (sent.push(dialect.sqlToQuery(statement).sql), (value as (s: unknown) => unknown).call(t, statement));
          if (key === 'transaction') return (fn: (tx: object) => unknown) => (value as (f: (tx: object) => unknown) => unknown).call(t, (tx: object) => fn(spy(tx)));
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
        },
      });
    const db = spy(h.db.database.db);
    await gatewayStore.list(db, { q: 'press', sort: 'name', limit: 50, offset: 0 });
    expect(sent[0]).toBe('set local enable_seqscan = off');
    expect(sent).toHaveLength(2);
    sent.length = 0;
    for (const q of ['pr', undefined]) await gatewayStore.list(db, { q, sort: 'name', limit: 50, offset: 0 });
    expect(sent.some((t) => t.includes('enable_seqscan'))).toBe(false);
    expect(sent).toHaveLength(2);
  });

  it('joins leases to the 50 rows of a page, not to the fleet before its sort', async () => {
    const p = await plan({ sort: 'usageTags', order: 'desc', limit: 50, offset: 0 });
    const join = p.search(/Left Join/);
    expect(join).toBeGreaterThanOrEqual(0);
    expect(p.search(/Limit/)).toBeGreaterThan(join);
  });

  it('a search reads the trigram index (pg_trgm), for its page and its count', async () => {
    const p = await plan({ q: 'press', sort: 'name', order: 'asc', limit: 50, offset: 0 });
    expect(p.match(/gateways_search_trgm_idx/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
    // The count's subquery too, not a scan of the table; and the page is the matches sorted, not a
    // walk of the name index past every earlier name.
    expect(p).not.toMatch(/Seq Scan on gateways/);
    expect(p).not.toContain('gateways_name_idx');
  });

  it("carries each row's newest lease and held points as the single-gateway view has them, and the count", async () => {
    const [a, b] = rows;
    const now = Date.now();
    const lease = (gatewayId: string, seq: number, tags: number, state: 'acknowledged' | 'superseded' | 'issued') => ({
      id: crypto.randomUUID(),
      gatewayId,
      poolId,
      seq,
      kid: 'k',
      tags,
      connections: 1,
      plugins: [],
      issuedAt: new Date(now - 60_000),
      expiresAt: new Date(now + 300_000),
      state,
      endedAt: state === 'superseded' ? new Date(now - 1_000) : null,
    });
    // a: an ended lease and a live one; b: two live (an older one not yet superseded holds more).
    await h.db.database.db.insert(leases).values([lease(a!.id, 1, 40, 'superseded'), lease(a!.id, 2, 10, 'acknowledged'), lease(b!.id, 1, 30, 'acknowledged'), lease(b!.id, 2, 5, 'issued')]);
    await h.db.database.db.update(gateways).set({ leaseSeq: 2 }).where(sql`${gateways.id} in (${a!.id}, ${b!.id})`);
    const page = await h.api<{ total: number; items: { id: string; held: unknown; lease: { seq: number; points: unknown } | null }[] }>('GET', '/api/v1/gateways?sort=name&limit=2');
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(rows.length);
    expect(page.body.items).toHaveLength(2);
    for (const item of page.body.items) {
      const one = await h.api<{ held: unknown; lease: unknown }>('GET', `/api/v1/gateways/${item.id}`);
      expect({ held: item.held, seq: item.lease?.seq }).toEqual({ held: one.body.held, seq: (one.body.lease as { seq: number } | null)?.seq });
    }
    // The statement's own decoder gives what drizzle's builder gives for the same rows, to the field.
    await h.db.database.db
      .update(gateways)
      .set({ lastSeenAt: new Date(now - 5_000), usageTags: 7, usageConnections: 1, usageReportedAt: new Date(now), allocPlugins: ['OPC UA'], online: true, transport: 'mqtt' })
      .where(sql`${gateways.id} = ${a!.id}`);
    const listed = await gatewayStore.list(h.db.database.db, { sort: 'name', limit: 10, offset: 0 });
    expect(listed.total).toBe(rows.length);
    for (const g of listed.rows) {
      expect(g).toEqual(await gatewayStore.get(h.db.database.db, g.id));
      expect(listed.info.get(g.id)).toEqual(await gatewayStore.leaseInfo(h.db.database.db, g.id));
    }
    const byId = new Map(page.body.items.map((i) => [i.id, i]));
    expect(byId.get(b!.id)?.held).toEqual({ tags: 30, connections: 1 });
    // A page past the end still says how many match.
    const past = await h.api<{ total: number; items: unknown[] }>('GET', '/api/v1/gateways?sort=name&limit=2&offset=50');
    expect(past.body).toEqual({ total: rows.length, items: [] });
  });
});
