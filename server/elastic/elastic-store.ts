import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { gateways, leases } from '../db/schema.js';
import { heldByGatewaySql, liveLeaseSql, type Points } from '../leases/lease-accounting.js';

/** One gateway of a pool as the elastic tick sees it (held is lease-accounting's rule). */
export interface ElasticRow {
  id: string;
  name: string;
  priority: number;
  reserved: boolean;
  online: boolean;
  allocation: Points;
  held: Points;
  usage: Points | null;
  minTags: number | null;
  maxTags: number | null;
  minConnections: number | null;
  maxConnections: number | null;
  changedAtMs: number | null;
  lowSinceMs: number | null;
  pendingSinceMs: number | null;
}

const HELD = sql.raw(heldByGatewaySql());
const LIVE = sql.raw(liveLeaseSql('l'));
const ms = (d: Date | string | null) => (d === null ? null : new Date(d).getTime());

interface RawRow {
  id: string;
  name: string;
  priority: number;
  reserved: boolean;
  online: boolean;
  alloc_tags: number;
  alloc_connections: number;
  held_tags: number;
  held_connections: number;
  usage_tags: number | null;
  usage_connections: number | null;
  elastic_min_tags: number | null;
  elastic_max_tags: number | null;
  elastic_min_connections: number | null;
  elastic_max_connections: number | null;
  elastic_changed_at: Date | string | null;
  elastic_low_since: Date | string | null;
  pending_since: Date | string | null;
}

export const elasticStore = {
  /** Pools with an elastic gateway or a waiting one: the only ones a tick has anything to do in. */
  async poolsToReview(q: DbOrTx): Promise<string[]> {
    const rows = (await q.execute(sql`
      select distinct pool_id from gateways where revoked_at is null
        and (elastic_max_tags is not null or elastic_max_connections is not null or pending_since is not null)`)) as unknown as { pool_id: string }[];
    return rows.map((r) => r.pool_id);
  },

  /** Every gateway of the pool in service, with what it holds. Call with the pool row locked. */
  async readPool(q: DbOrTx, poolId: string): Promise<ElasticRow[]> {
    const rows = (await q.execute(sql`
      with h as (select * from (${HELD}) x where x.pool_id = ${poolId})
      select g.id, g.name, g.priority, g.reserved, g.online, g.alloc_tags, g.alloc_connections, h.held_tags, h.held_connections,
        g.usage_tags, g.usage_connections, g.elastic_min_tags, g.elastic_max_tags, g.elastic_min_connections, g.elastic_max_connections,
        g.elastic_changed_at, g.elastic_low_since, g.pending_since
      from h join gateways g on g.id = h.gateway_id
      where not h.revoked order by g.id`)) as unknown as RawRow[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      priority: r.priority,
      reserved: r.reserved,
      online: r.online,
      allocation: { tags: r.alloc_tags, connections: r.alloc_connections },
      held: { tags: r.held_tags, connections: r.held_connections },
      usage: r.usage_tags === null && r.usage_connections === null ? null : { tags: r.usage_tags ?? 0, connections: r.usage_connections ?? 0 },
      minTags: r.elastic_min_tags,
      maxTags: r.elastic_max_tags,
      minConnections: r.elastic_min_connections,
      maxConnections: r.elastic_max_connections,
      changedAtMs: ms(r.elastic_changed_at),
      lowSinceMs: ms(r.elastic_low_since),
      pendingSinceMs: ms(r.pending_since),
    }));
  },

  /** Locks the rows about to change, in id order (after the pool row: the lock order). */
  async lockGateways(q: DbOrTx, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await q.select({ id: gateways.id }).from(gateways).where(inArray(gateways.id, [...ids].sort())).orderBy(gateways.id).for('update');
  },

  async update(q: DbOrTx, id: string, patch: Partial<typeof gateways.$inferInsert>): Promise<void> {
    await q.update(gateways).set(patch).where(and(eq(gateways.id, id), isNull(gateways.revokedAt)));
  },

  /**
   * Per gateway: when the points it owes (held above its allocation) come back at the latest, the
   * expiry of its last live lease that grants more than the allocation. The smaller lease pushed
   * after a cut holds none of them, so its later expiry is not what a waiter waits for.
   */
  async owedUntil(q: DbOrTx, ids: readonly string[]): Promise<Map<string, Date>> {
    if (ids.length === 0) return new Map();
    const rows = (await q.execute(sql`
      select l.gateway_id, max(l.expires_at) as until from ${leases} l join ${gateways} g on g.id = l.gateway_id
      where l.gateway_id in (${sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `)}) and ${LIVE}
        and (l.tags > g.alloc_tags or l.connections > g.alloc_connections)
      group by l.gateway_id`)) as unknown as { gateway_id: string; until: Date | string }[];
    return new Map(rows.map((r) => [r.gateway_id, new Date(r.until)]));
  },
};
