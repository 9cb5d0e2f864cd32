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

  /**
   * The audit trail's presence, allocation, borrow and release rows and the usage history, merged
   * by time (at the same millisecond an audit row comes first). Two range reads, each in the order
   * of its (pool_id, at) index, merged here: no sort of the whole union in the database. Only the
   * figures the replay reads leave it (points, a borrow's expiry, times as epoch milliseconds), so
   * a week of a large fleet (1.7 M rows) is not parsed as JSON and dates row by row.
   */
  async history(q: DbOrTx, poolId: string, from: Date, to: Date): Promise<HistoryRow[]> {
    const range = sql`pool_id = ${poolId} and at >= ${from.toISOString()}::timestamptz and at < ${to.toISOString()}::timestamptz`;
    const num = (col: string, key: string) => sql.raw(`case when jsonb_typeof(${col}->'${key}') = 'number' then (${col}->>'${key}')::float8 end`);
    const [audit, usage] = (await Promise.all([
      q.execute(sql`
        select floor(extract(epoch from at) * 1000)::float8 as t, gateway_id as g, action as a,
          ${num('before', 'tags')} as bt, ${num('before', 'connections')} as bc,
          ${num('after', 'tags')} as aft, ${num('after', 'connections')} as ac, ${num('after', 'exp')} as exp
        from audit_events
        where ${range} and gateway_id is not null and action in (${sql.join(ACTIONS.map((x) => sql`${x}`), sql`, `)})
        order by at, id`),
      q.execute(sql`
        select floor(extract(epoch from at) * 1000)::float8 as t, gateway_id as g, tags as ut, connections as uc
        from usage_samples where ${range} order by at, id`),
    ])) as unknown as [AuditRow[], UsageRow[]];
    const out: HistoryRow[] = new Array<HistoryRow>(audit.length + usage.length);
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < audit.length || j < usage.length) {
      if (j >= usage.length || (i < audit.length && audit[i]!.t <= usage[j]!.t)) {
        const r = audit[i++]!;
        out[n++] = {
          at: r.t,
          gatewayId: r.g,
          action: r.a,
          before: r.bt !== null && r.bc !== null ? { tags: r.bt, connections: r.bc } : null,
          after: r.aft !== null && r.ac !== null ? { tags: r.aft, connections: r.ac } : null,
          exp: r.exp,
        };
      } else {
        const r = usage[j++]!;
        out[n++] = { at: r.t, gatewayId: r.g, action: 'usage', before: null, after: { tags: r.ut, connections: r.uc }, exp: null };
      }
    }
    return out;
  },
};

interface AuditRow {
  t: number;
  g: string;
  a: string;
  bt: number | null;
  bc: number | null;
  aft: number | null;
  ac: number | null;
  exp: number | null;
}

interface UsageRow {
  t: number;
  g: string;
  ut: number;
  uc: number;
}
