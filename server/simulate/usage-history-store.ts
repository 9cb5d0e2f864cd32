import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';

export const usageHistoryStore = {
  /** Records a usage report if it differs from the gateway's last one (call before storing it). */
  async recordIfChanged(q: DbOrTx, gatewayId: string, usage: { tags: number; connections: number }, at: Date): Promise<void> {
    await q.execute(sql`
      insert into usage_samples (gateway_id, pool_id, at, tags, connections)
      select g.id, g.pool_id, ${at.toISOString()}::timestamptz, ${usage.tags}::int, ${usage.connections}::int from gateways g
      where g.id = ${gatewayId} and g.revoked_at is null
        and (g.usage_tags is distinct from ${usage.tags}::int or g.usage_connections is distinct from ${usage.connections}::int)`);
  },

  /**
   * Deletes up to `batch` usage samples taken before `before`, oldest first per pool, and returns
   * how many. It walks the pools (never deleted; a gateway's samples go with it) so each read is a
   * range of the (pool_id, at) index, not a scan of the whole table. SKIP LOCKED: replicas share it.
   */
  async pruneBefore(q: DbOrTx, before: Date, batch: number): Promise<number> {
    const rows = await q.execute(sql`
      with doomed as (
        select u.id from pools p cross join lateral (
          select x.id from usage_samples x
          where x.pool_id = p.id and x.at < ${before.toISOString()}::timestamptz
          order by x.at
          limit ${batch}
          for update of x skip locked
        ) u
        limit ${batch}
      )
      delete from usage_samples where id in (select id from doomed) returning id`);
    return rows.length;
  },
};
