import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import type { OverAllocation } from './attention-policy.js';

const SAMPLE = 5;

export const attentionStore = {
  /** Gateways whose last reported usage exceeds their allocation, per pool: one grouped scan. */
  async overAllocated(q: DbOrTx): Promise<OverAllocation[]> {
    const rows = await q.execute<{ pool_id: string; count: number; sample: { id: string; name: string }[] }>(sql`
      select pool_id, count(*)::int as count,
             (array_agg(json_build_object('id', id, 'name', name) order by name))[1:${SAMPLE}] as sample
      from gateways
      where revoked_at is null and (usage_tags > alloc_tags or usage_connections > alloc_connections)
      group by pool_id`);
    return rows.map((r) => ({ poolId: r.pool_id, count: r.count, sample: r.sample }));
  },
};
