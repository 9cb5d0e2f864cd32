import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { poolLicenses, pools } from '../db/schema.js';
import { heldByGatewaySql, pendingSql } from '../leases/lease-accounting.js';
import { poolLimit } from './capacity-policy.js';
import { returnedRow } from '../db/returned-row.js';

export type PoolRow = typeof pools.$inferSelect;
export type PoolLicenseRow = typeof poolLicenses.$inferSelect;

export interface Totals {
  tags: number;
  connections: number;
}

/** Per pool: what is allocated (entitled), held (F2's "may be using"), pending, reported in use, and gateway counts. */
export interface PoolTotals {
  allocated: Totals;
  held: Totals;
  pending: Totals;
  inUse: Totals;
  gateways: number;
  online: number;
  /** Gateways holding at least one live lease. */
  leased: number;
}

export const emptyTotals = (): PoolTotals => ({
  allocated: { tags: 0, connections: 0 },
  held: { tags: 0, connections: 0 },
  pending: { tags: 0, connections: 0 },
  inUse: { tags: 0, connections: 0 },
  gateways: 0,
  online: 0,
  leased: 0,
});

/** Held and pending per gateway are lease-accounting's rules. */
interface TotalsRow extends Record<string, unknown> {
  poolId: string;
  allocTags: string | number;
  allocConnections: string | number;
  heldTags: string | number;
  heldConnections: string | number;
  pendingTags: string | number;
  pendingConnections: string | number;
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
    pending: { tags: Number(r.pendingTags), connections: Number(r.pendingConnections) },
    inUse: { tags: Number(r.usedTags), connections: Number(r.usedConnections) },
    gateways: r.gateways,
    online: r.online,
    leased: r.leased,
  };
}

const HELD = sql.raw(heldByGatewaySql());
const PENDING_TAGS = sql.raw(pendingSql('h', 'tags'));
const PENDING_CONNECTIONS = sql.raw(pendingSql('h', 'connections'));

async function selectTotals(q: DbOrTx, poolId: string | undefined): Promise<Map<string, PoolTotals>> {
  const filter = poolId ? sql`where x.pool_id = ${poolId}` : sql``;
  const rows = (await q.execute(sql`
    with h as (select * from (${HELD}) x ${filter})
    select h.pool_id as "poolId",
      coalesce(sum(h.alloc_tags) filter (where not h.revoked), 0)::bigint as "allocTags",
      coalesce(sum(h.alloc_connections) filter (where not h.revoked), 0)::bigint as "allocConnections",
      coalesce(sum(h.held_tags), 0)::bigint as "heldTags",
      coalesce(sum(h.held_connections), 0)::bigint as "heldConnections",
      coalesce(sum(${PENDING_TAGS}), 0)::bigint as "pendingTags",
      coalesce(sum(${PENDING_CONNECTIONS}), 0)::bigint as "pendingConnections",
      coalesce(sum(coalesce(g.usage_tags, 0)), 0)::bigint as "usedTags",
      coalesce(sum(coalesce(g.usage_connections, 0)), 0)::bigint as "usedConnections",
      count(*) filter (where not h.revoked)::int as "gateways",
      count(*) filter (where h.online and not h.revoked)::int as "online",
      count(*) filter (where h.live_leases > 0)::int as "leased"
    from h join gateways g on g.id = h.gateway_id
    group by h.pool_id`)) as unknown as TotalsRow[];
  return new Map(rows.map((r) => [r.poolId, toTotals(r)]));
}

export const poolStore = {
  async insert(q: DbOrTx, row: typeof pools.$inferInsert): Promise<PoolRow> {
    return returnedRow(await q.insert(pools).values(row).returning(), 'pool insert');
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
    const rows = await q
      .update(pools)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(pools.id, id))
      .returning();
    return returnedRow(rows, `pool ${id} update`);
  },
  async totals(q: DbOrTx, poolId: string): Promise<PoolTotals> {
    return (await selectTotals(q, poolId)).get(poolId) ?? emptyTotals();
  },
  totalsByPool(q: DbOrTx): Promise<Map<string, PoolTotals>> {
    return selectTotals(q, undefined);
  },
  /**
   * The waiting gateways of a pool that its free points can serve now, in serving order
   * (priority, then arrival): the ones to push a lease to after points freed up.
   */
  async servableWaiting(q: DbOrTx, poolId: string): Promise<string[]> {
    const rows = (await q.execute(sql`
      with h as (select * from (${HELD}) x where x.pool_id = ${poolId})
      select h.gateway_id as id, p.capacity_tags, p.capacity_connections, p.overdraft_factor,
        (select sum(held_tags) from h)::bigint as held_tags, (select sum(held_connections) from h)::bigint as held_connections,
        ${PENDING_TAGS} as pend_tags, ${PENDING_CONNECTIONS} as pend_connections
      from h join gateways g on g.id = h.gateway_id join pools p on p.id = h.pool_id
      where g.pending_since is not null and (${PENDING_TAGS} > 0 or ${PENDING_CONNECTIONS} > 0)
      order by g.priority desc, g.pending_since, g.id
      limit 1000`)) as unknown as {
      id: string;
      capacity_tags: number;
      capacity_connections: number;
      overdraft_factor: number;
      held_tags: string;
      held_connections: string;
      pend_tags: number;
      pend_connections: number;
    }[];
    const first = rows[0];
    if (!first) return [];
    const limit = poolLimit({ tags: first.capacity_tags, connections: first.capacity_connections }, first.overdraft_factor);
    const free = { tags: limit.tags - Number(first.held_tags), connections: limit.connections - Number(first.held_connections) };
    const out: string[] = [];
    for (const r of rows) {
      // Worth a push only if a kind it waits for still has free points after those ahead of it.
      if ((r.pend_tags > 0 && free.tags > 0) || (r.pend_connections > 0 && free.connections > 0)) out.push(r.id);
      free.tags -= r.pend_tags;
      free.connections -= r.pend_connections;
    }
    return out;
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
    return returnedRow(await q.insert(poolLicenses).values(row).returning(), 'pool license insert');
  },
};
