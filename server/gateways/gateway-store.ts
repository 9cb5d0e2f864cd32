import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { gateways, leases } from '../db/schema.js';
import { heldByGatewaySql, liveLeaseSql, type Points } from '../leases/lease-accounting.js';
import { returnedRow } from '../db/returned-row.js';
import { filterCondition, listOrder, type GatewayFilter, type GatewayListFilter } from './gateway-filter.js';
import { listGateways, type GatewayPageRows } from './gateway-list-query.js';

export type { GatewayFilter, GatewayListFilter } from './gateway-filter.js';

export type GatewayRow = typeof gateways.$inferSelect;

/** The credential hash an administrator's binding reset leaves: no credential matches it. */
export const BINDING_RESET = 'binding-reset';

/** The gateway's newest lease and what it holds (lease-accounting's rule). */
export interface GatewayLeaseInfo {
  latest: typeof leases.$inferSelect | undefined;
  held: Points;
}

const HELD = sql.raw(heldByGatewaySql());

export const gatewayStore = {
  async get(q: DbOrTx, id: string): Promise<GatewayRow | undefined> {
    const [row] = await q.select().from(gateways).where(eq(gateways.id, id));
    return row;
  },
  async lock(q: DbOrTx, id: string): Promise<GatewayRow | undefined> {
    const [row] = await q.select().from(gateways).where(eq(gateways.id, id)).for('update');
    return row;
  },
  async findByCodeAndHardware(q: DbOrTx, codeId: string, hardwareId: string): Promise<GatewayRow | undefined> {
    const [row] = await q
      .select()
      .from(gateways)
      .where(and(eq(gateways.activationCodeId, codeId), eq(gateways.hardwareId, hardwareId)))
      .for('update');
    return row;
  },
  /** The enrolled (not decommissioned) gateway of this hardware on the whole controller, if any. */
  async findLiveByHardware(q: DbOrTx, hardwareId: string): Promise<GatewayRow | undefined> {
    const [row] = await q
      .select()
      .from(gateways)
      .where(and(eq(gateways.hardwareId, hardwareId), isNull(gateways.revokedAt)))
      .orderBy(sql`${gateways.enrolledAt} desc`)
      .limit(1);
    return row;
  },
  async countByCode(q: DbOrTx, codeId: string): Promise<number> {
    const [r] = await q.select({ n: sql<number>`count(*)::int` }).from(gateways).where(eq(gateways.activationCodeId, codeId));
    return r?.n ?? 0;
  },
  async listByCode(q: DbOrTx, codeId: string): Promise<GatewayRow[]> {
    return q.select().from(gateways).where(eq(gateways.activationCodeId, codeId)).orderBy(gateways.enrolledAt);
  },
  async insert(q: DbOrTx, row: typeof gateways.$inferInsert): Promise<GatewayRow> {
    return returnedRow(await q.insert(gateways).values(row).returning(), 'gateway insert');
  },
  async update(q: DbOrTx, id: string, patch: Partial<typeof gateways.$inferInsert>): Promise<GatewayRow> {
    return returnedRow(await q.update(gateways).set(patch).where(eq(gateways.id, id)).returning(), `gateway ${id} update`);
  },
  /** Updates a gateway that is not decommissioned; undefined when it is (or does not exist). */
  async updateActive(q: DbOrTx, id: string, patch: Partial<typeof gateways.$inferInsert>): Promise<GatewayRow | undefined> {
    const [row] = await q.update(gateways).set(patch).where(and(eq(gateways.id, id), isNull(gateways.revokedAt))).returning();
    return row;
  },
  async idsInPool(q: DbOrTx, poolId: string): Promise<string[]> {
    const rows = await q
      .select({ id: gateways.id })
      .from(gateways)
      .where(and(eq(gateways.poolId, poolId), isNull(gateways.revokedAt)));
    return rows.map((r) => r.id);
  },
  async hasLiveLease(q: DbOrTx, gatewayId: string): Promise<boolean> {
    const [row] = await q
      .select({ id: leases.id })
      .from(leases)
      .where(and(eq(leases.gatewayId, gatewayId), sql.raw(liveLeaseSql('leases'))))
      .limit(1);
    return row !== undefined;
  },
  async leaseInfo(q: DbOrTx, gatewayId: string): Promise<GatewayLeaseInfo> {
    return (await gatewayStore.leaseInfoMany(q, [gatewayId])).get(gatewayId) ?? { latest: undefined, held: { tags: 0, connections: 0 } };
  },
  /** A page of the list (gateway-list-query.ts: one statement with its decoder). */
  list(q: DbOrTx, f: GatewayListFilter): Promise<GatewayPageRows> {
    return listGateways(q, f);
  },
  /** Every id the filter matches (in list order, at most `max`) and how many match in all. */
  async ids(q: DbOrTx, f: GatewayFilter, max: number): Promise<{ total: number; ids: string[] }> {
    const cond = filterCondition(f);
    const [rows, [count]] = await Promise.all([
      q.select({ id: gateways.id }).from(gateways).where(cond).orderBy(...listOrder(f, gateways)).limit(max),
      q.select({ n: sql<number>`count(*)::int` }).from(gateways).where(cond),
    ]);
    return { total: count?.n ?? 0, ids: rows.map((r) => r.id) };
  },
  /** Latest lease and held points for many gateways in two statements sent together. */
  async leaseInfoMany(q: DbOrTx, ids: readonly string[]): Promise<Map<string, GatewayLeaseInfo>> {
    const out = new Map<string, GatewayLeaseInfo>();
    if (ids.length === 0) return out;
    const idList = sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);
    // The gateway row holds its latest seq: one index probe each, however long the lease history.
    // Both at once: one round trip less on every page of the gateway list.
    const [latest, held] = await Promise.all([
      q
        .select()
        .from(leases)
        .where(sql`(${leases.gatewayId}, ${leases.seq}) in (select g.id, g.lease_seq from ${gateways} g where g.id in (${idList}))`),
      q.execute(sql`
      select gateway_id, held_tags, held_connections from (${HELD}) x where x.gateway_id in (${idList})`) as unknown as Promise<{ gateway_id: string; held_tags: number; held_connections: number }[]>,
    ]);
    const latestOf = new Map(latest.map((l) => [l.gatewayId, l]));
    const heldOf = new Map(held.map((h) => [h.gateway_id, { tags: h.held_tags, connections: h.held_connections }]));
    for (const id of ids) out.set(id, { latest: latestOf.get(id), held: heldOf.get(id) ?? { tags: 0, connections: 0 } });
    return out;
  },
};

