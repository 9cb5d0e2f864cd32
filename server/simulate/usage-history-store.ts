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
};
