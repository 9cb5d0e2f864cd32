import { z } from 'zod';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { PoolService } from '../pools/pool-service.js';
import { attentionItems, type OverAllocation } from './attention-policy.js';

const SAMPLE = 5;

const attentionView = z.object({
  items: z.array(
    z.object({
      kind: z.string(),
      severity: z.enum(['bad', 'warn']),
      poolId: z.uuid(),
      poolName: z.string(),
      message: z.string(),
      gateways: z.object({ count: z.int(), sample: z.array(z.object({ id: z.uuid(), name: z.string() })) }).optional(),
    }),
  ),
});

/** Gateways whose last reported usage exceeds their allocation, per pool: one grouped scan. */
export async function overAllocated(db: Db): Promise<OverAllocation[]> {
  const rows = await db.execute<{ pool_id: string; count: number; sample: { id: string; name: string }[] }>(sql`
    select pool_id, count(*)::int as count,
           (array_agg(json_build_object('id', id, 'name', name) order by name))[1:${SAMPLE}] as sample
    from gateways
    where revoked_at is null and (usage_tags > alloc_tags or usage_connections > alloc_connections)
    group by pool_id`);
  return rows.map((r) => ({ poolId: r.pool_id, count: r.count, sample: r.sample }));
}

export function registerAttentionRoutes(routes: RouteRegistry, db: Db, pools: PoolService, now: () => number = Date.now): void {
  routes.add({
    method: 'get',
    path: '/api/v1/attention',
    summary: 'What needs a person: expired or expiring licenses, over-committed pools, pools above their alarm, gateways over their allocation',
    tag: 'pools',
    auth: { role: 'viewer' },
    responses: { 200: { description: 'The attention list, most serious first', schema: attentionView } },
    handler: async () => {
      const [list, over] = await Promise.all([pools.list(), overAllocated(db)]);
      return { body: { items: attentionItems(list, over, now()) } };
    },
  });
}
