import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import type { GatewayNow, HistoryRow } from './history.js';

const ACTIONS = [
  'allocation.changed', 'allocation.changed.forced', 'allocation.released', 'allocation.elastic', 'allocation.preempted',
  'allocation.pending-cancelled', 'allocation.pending-timed-out', 'gateway.offline', 'lease.granted', 'lease.renewed', 'lease.borrowed', 'lease.released',
];

export const simulateStore = {
  async gateways(q: DbOrTx, poolId: string): Promise<GatewayNow[]> {
    const rows = (await q.execute(sql`
      select id, priority, online, alloc_tags, alloc_connections, elastic_min_tags, elastic_max_tags, elastic_min_connections, elastic_max_connections
      from gateways where pool_id = ${poolId} and revoked_at is null order by id`)) as unknown as {
      id: string; priority: number; online: boolean; alloc_tags: number; alloc_connections: number;
      elastic_min_tags: number | null; elastic_max_tags: number | null; elastic_min_connections: number | null; elastic_max_connections: number | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      priority: r.priority,
      online: r.online,
      allocation: { tags: r.alloc_tags, connections: r.alloc_connections },
      bounds: {
        ...(r.elastic_min_tags !== null && r.elastic_max_tags !== null ? { tags: { min: r.elastic_min_tags, max: r.elastic_max_tags } } : {}),
        ...(r.elastic_min_connections !== null && r.elastic_max_connections !== null ? { connections: { min: r.elastic_min_connections, max: r.elastic_max_connections } } : {}),
      },
    }));
  },

  /** The audit trail's presence, allocation, borrow and release rows and the usage history, merged by time. */
  async history(q: DbOrTx, poolId: string, from: Date, to: Date): Promise<HistoryRow[]> {
    const rows = (await q.execute(sql`
      select * from (
        select a.at, a.id as n, a.gateway_id, a.action, a.before, a.after from audit_events a
        where a.pool_id = ${poolId} and a.at >= ${from.toISOString()}::timestamptz and a.at < ${to.toISOString()}::timestamptz
          and a.gateway_id is not null and a.action in (${sql.join(ACTIONS.map((x) => sql`${x}`), sql`, `)})
        union all
        select u.at, u.id, u.gateway_id, 'usage', null, jsonb_build_object('tags', u.tags, 'connections', u.connections) from usage_samples u
        where u.pool_id = ${poolId} and u.at >= ${from.toISOString()}::timestamptz and u.at < ${to.toISOString()}::timestamptz
      ) x order by at, n`)) as unknown as { at: Date | string; gateway_id: string; action: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null }[];
    return rows.map((r) => ({ at: new Date(r.at).getTime(), gatewayId: r.gateway_id, action: r.action, before: r.before, after: r.after }));
  },
};
