import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { poolStore } from '../pools/pool-store.js';
import type { PoolSnapshotSource } from './controller-metrics.js';

/** Three queries per scrape, whatever the fleet size: pools, per-pool totals, online agents by transport. */
export function poolSnapshotSource(db: Db, observe?: (seconds: number) => void): PoolSnapshotSource {
  return {
    async snapshot() {
      const started = performance.now();
      const [pools, totals, online] = await Promise.all([
        poolStore.list(db),
        poolStore.totalsByPool(db),
        db.execute(sql`select transport, count(*)::int as n from gateways where online and revoked_at is null group by transport`),
      ]);
      observe?.((performance.now() - started) / 1000);
      const rows = online as unknown as { transport: string | null; n: number }[];
      return { pools, totals, onlineByTransport: new Map(rows.map((r) => [r.transport ?? 'unknown', r.n])) };
    },
  };
}
