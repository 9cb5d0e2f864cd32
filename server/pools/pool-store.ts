import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { poolLicenses, pools } from '../db/schema.js';

export type PoolRow = typeof pools.$inferSelect;
export type PoolLicenseRow = typeof poolLicenses.$inferSelect;

export interface Totals {
  tags: number;
  connections: number;
}

/** Per pool: what is allocated, held (F2's "may be using"), reported in use, and gateway counts. */
export interface PoolTotals {
  allocated: Totals;
  held: Totals;
  inUse: Totals;
  gateways: number;
  online: number;
  /** Gateways holding at least one live lease. */
  leased: number;
}

export const emptyTotals = (): PoolTotals => ({
  allocated: { tags: 0, connections: 0 },
  held: { tags: 0, connections: 0 },
  inUse: { tags: 0, connections: 0 },
  gateways: 0,
  online: 0,
  leased: 0,
});

/**
 * Held per gateway = max(allocation, points of every live lease). A lease is live while it is
 * issued or acknowledged and not past its expiry; acknowledging a lease supersedes older ones.
 */
interface TotalsRow extends Record<string, unknown> {
  poolId: string;
  allocTags: string | number;
  allocConnections: string | number;
  heldTags: string | number;
  heldConnections: string | number;
  usedTags: string | number;
  usedConnections: string | number;
  gateways: number;
  online: number;
  leased: number;
}

function toTotals(r: TotalsRow): PoolTotals {
  return {
    allocated: { tags: Number(r.allocTags), connections: Number(r.allocConnections) },
    held: { tags: Number(r.heldTags), connections: Number(r.heldConnections) },
    inUse: { tags: Number(r.usedTags), connections: Number(r.usedConnections) },
    gateways: r.gateways,
    online: r.online,
    leased: r.leased,
  };
}

async function selectTotals(q: DbOrTx, poolId: string | undefined): Promise<Map<string, PoolTotals>> {
  const leaseFilter = poolId ? sql`and pool_id = ${poolId}` : sql``;
  const gatewayFilter = poolId ? sql`where g.pool_id = ${poolId}` : sql``;
  const rows = (await q.execute(sql`
    with live as (
      select gateway_id, max(tags) as t, max(connections) as c
      from leases
      where ended_at is null and expires_at > now() ${leaseFilter}
      group by gateway_id
    )
    select g.pool_id as "poolId",
      coalesce(sum(g.alloc_tags), 0)::bigint as "allocTags",
      coalesce(sum(g.alloc_connections), 0)::bigint as "allocConnections",
      coalesce(sum(greatest(g.alloc_tags, coalesce(l.t, 0))), 0)::bigint as "heldTags",
      coalesce(sum(greatest(g.alloc_connections, coalesce(l.c, 0))), 0)::bigint as "heldConnections",
      coalesce(sum(coalesce(g.usage_tags, 0)), 0)::bigint as "usedTags",
      coalesce(sum(coalesce(g.usage_connections, 0)), 0)::bigint as "usedConnections",
      count(*) filter (where g.revoked_at is null)::int as "gateways",
      count(*) filter (where g.online and g.revoked_at is null)::int as "online",
      count(l.gateway_id)::int as "leased"
    from gateways g left join live l on l.gateway_id = g.id
    ${gatewayFilter}
    group by g.pool_id`)) as unknown as TotalsRow[];
  return new Map(rows.map((r) => [r.poolId, toTotals(r)]));
}

export const poolStore = {
  async insert(q: DbOrTx, row: typeof pools.$inferInsert): Promise<PoolRow> {
    const [created] = await q.insert(pools).values(row).returning();
    return created!;
  },
  async get(q: DbOrTx, id: string): Promise<PoolRow | undefined> {
    const [row] = await q.select().from(pools).where(eq(pools.id, id));
    return row;
  },
  /**
   * Locks the pool row: every change to a pool's allocations or capacity serialises here.
   * FOR NO KEY UPDATE, not FOR UPDATE: a grant inserting a lease takes FOR KEY SHARE on the pool
   * (the foreign key) while it holds its gateway's row lock, and setAllocation holds the pool
   * before the gateway; FOR UPDATE would conflict with that key share and deadlock the two.
   */
  async lock(q: DbOrTx, id: string): Promise<PoolRow | undefined> {
    const [row] = await q.select().from(pools).where(eq(pools.id, id)).for('no key update');
    return row;
  },
  async list(q: DbOrTx): Promise<PoolRow[]> {
    return q.select().from(pools).orderBy(pools.name);
  },
  async update(q: DbOrTx, id: string, patch: Partial<typeof pools.$inferInsert>): Promise<PoolRow> {
    const [row] = await q
      .update(pools)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(pools.id, id))
      .returning();
    return row!;
  },
  async totals(q: DbOrTx, poolId: string): Promise<PoolTotals> {
    return (await selectTotals(q, poolId)).get(poolId) ?? emptyTotals();
  },
  totalsByPool(q: DbOrTx): Promise<Map<string, PoolTotals>> {
    return selectTotals(q, undefined);
  },

  // ---- licenses ----
  async currentLicense(q: DbOrTx, poolId: string): Promise<PoolLicenseRow | undefined> {
    const [row] = await q
      .select()
      .from(poolLicenses)
      .where(and(eq(poolLicenses.poolId, poolId), isNull(poolLicenses.replacedAt)))
      .limit(1);
    return row;
  },
  async licenseHistory(q: DbOrTx, poolId: string): Promise<PoolLicenseRow[]> {
    return q.select().from(poolLicenses).where(eq(poolLicenses.poolId, poolId)).orderBy(desc(poolLicenses.uploadedAt));
  },
  async replaceLicense(q: DbOrTx, row: typeof poolLicenses.$inferInsert): Promise<PoolLicenseRow> {
    await q
      .update(poolLicenses)
      .set({ replacedAt: sql`now()` })
      .where(and(eq(poolLicenses.poolId, row.poolId), isNull(poolLicenses.replacedAt)));
    const [created] = await q.insert(poolLicenses).values(row).returning();
    return created!;
  },
};
