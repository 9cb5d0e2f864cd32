import { startPeriodic } from '../periodic.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { reviewOverCommitment } from '../pools/pool-service.js';
import type { Services } from '../services.js';

/**
 * Ends expired leases and those of gateways lost past their disconnect grace, clears over-commitment that resolved, deletes ended leases past the
 * history retention and usage samples past theirs (one batch each per tick: at 2,000 every 5 s it keeps up with far more renewals than
 * 10,000 agents make). Several replicas may run it at once: expiry and pruning use SKIP LOCKED and
 * pool reviews lock their pool row.
 */
export function startSweeper(
  opts: { intervalMs: number; leaseHistoryDays: number; usageHistoryDays: number; reclaimSkewMarginSec: number },
  db: Db,
  s: Pick<Services, 'leaseEndings' | 'simulate'>,
  logger: Logger,
): { stop(): Promise<void> } {
  const { intervalMs, leaseHistoryDays, usageHistoryDays, reclaimSkewMarginSec } = opts;
  return startPeriodic(intervalMs, async () => {
    const expired = await s.leaseEndings.sweep();
    const reclaimed = await s.leaseEndings.reclaimDisconnected(reclaimSkewMarginSec);
    const cleared = await reviewOverCommitment(db);
    const pruned = leaseHistoryDays > 0 ? await s.leaseEndings.pruneHistory(leaseHistoryDays) : 0;
    const prunedUsage = usageHistoryDays > 0 ? await s.simulate.pruneUsageHistory(usageHistoryDays) : 0;
    if (expired || reclaimed || cleared.length || pruned || prunedUsage) logger.debug({ expired, reclaimed, cleared, pruned, prunedUsage }, 'sweep');
  }, logger, 'sweep');
}
