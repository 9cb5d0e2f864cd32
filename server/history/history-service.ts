import { startPeriodic } from '../periodic.js';
import type { GatewayHistory, HistoryRange, PoolHistory } from '../../shared/protocol/history.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors/app-error.js';
import type { Logger } from '../logger.js';
import { historyStore, type TickCounts } from './history-store.js';

export interface HistoryClock {
  now(): number;
}

const WINDOW_MS: Record<HistoryRange, number> = { '24h': 24 * 3_600_000, '30d': 30 * 24 * 3_600_000 };
const RESOLUTION: Record<HistoryRange, 'minute' | 'hour'> = { '24h': 'minute', '30d': 'hour' };

/**
 * The controller's own usage history: a tick samples the fleet into per-pool buckets and
 * per-gateway change rows; reads serve the console's charts. The clock is injected so a test can
 * script a day of changes and tick through it without waiting.
 */
export class HistoryService {
  constructor(
    private readonly db: Db,
    private readonly clock: HistoryClock = { now: Date.now },
  ) {}

  tick(at: Date = new Date(this.clock.now())): Promise<TickCounts> {
    return historyStore.tick(this.db, at);
  }

  async poolHistory(poolId: string, range: HistoryRange): Promise<PoolHistory> {
    const to = new Date(this.clock.now());
    const from = new Date(to.getTime() - WINDOW_MS[range]);
    const resolution = RESOLUTION[range];
    const rows = await historyStore.poolSeries(this.db, poolId, resolution, from);
    if (rows.length === 0 && !(await historyStore.poolExists(this.db, poolId))) throw new AppError('not-found', `no pool ${poolId}`);
    return {
      poolId,
      range,
      resolution,
      from: from.toISOString(),
      to: to.toISOString(),
      samples: rows.map((r) => ({
        at: r.bucket.toISOString(),
        held: { tags: r.heldTags, connections: r.heldConnections },
        allocated: { tags: r.allocTags, connections: r.allocConnections },
        inUse: { tags: r.usedTags, connections: r.usedConnections },
        pending: { tags: r.pendingTags, connections: r.pendingConnections },
        limit: { tags: r.limitTags, connections: r.limitConnections },
      })),
    };
  }

  async gatewayHistory(gatewayId: string, range: HistoryRange): Promise<GatewayHistory> {
    const to = new Date(this.clock.now());
    const from = new Date(to.getTime() - WINDOW_MS[range]);
    const rows = await historyStore.gatewaySeries(this.db, gatewayId, from);
    if (rows.length === 0 && !(await historyStore.gatewayExists(this.db, gatewayId))) throw new AppError('not-found', `no gateway ${gatewayId}`);
    return {
      gatewayId,
      range,
      from: from.toISOString(),
      to: to.toISOString(),
      samples: rows.map((r) => ({
        at: r.at.toISOString(),
        online: r.online,
        inUse: r.usageTags === null || r.usageConnections === null ? null : { tags: r.usageTags, connections: r.usageConnections },
        allocated: { tags: r.allocTags, connections: r.allocConnections },
        held: { tags: r.heldTags, connections: r.heldConnections },
      })),
    };
  }
}

/** Samples the fleet every `intervalMs` (aligned to nothing: buckets are by the clock, peaks kept). */
export function startHistoryRollup(history: HistoryService, intervalMs: number, logger: Logger): { stop(): Promise<void> } {
  return startPeriodic(intervalMs, async () => logger.debug(await history.tick(), 'history tick'), logger, 'history tick');
}
