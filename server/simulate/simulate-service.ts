import type { SimulateBody, SimulateView } from '../../shared/protocol/simulate.js';
import type { Db } from '../db/database.js';
import { AppError, notFound } from '../errors/app-error.js';
import { poolStore } from '../pools/pool-store.js';
import { historyToEvents } from './history.js';
import { compileEvents, replay, type SimSettings } from './replay.js';
import { simulateStore } from './simulate-store.js';
import { usageHistoryStore } from './usage-history-store.js';

const DAY = 86_400_000;

/** Replays a pool's recorded history under the settings in force and under changed ones, side by side. */
export class SimulateService {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async simulate(poolId: string, body: SimulateBody): Promise<SimulateView> {
    const pool = await poolStore.get(this.db, poolId);
    if (!pool) throw notFound('pool', poolId);
    const to = body.to ? Date.parse(body.to) : this.now();
    const from = body.from ? Date.parse(body.from) : to - (body.days ?? 7) * DAY;
    if (!(from < to)) throw new AppError('validation-failed', 'from must be before to', { errors: [{ path: 'body.from', message: 'must be before to' }] });
    const [gatewaysNow, rows] = await Promise.all([simulateStore.gateways(this.db, poolId), simulateStore.history(this.db, poolId, new Date(from), new Date(to))]);
    const { gateways, events } = historyToEvents(gatewaysNow, rows);
    const elastic = gateways.some((g) => g.bounds) ? { headroom: pool.elasticHeadroom, step: pool.elasticStep, cooldownSec: pool.elasticCooldownSeconds } : null;
    const inForce: SimSettings = {
      capacity: { tags: pool.capacityTags, connections: pool.capacityConnections },
      overdraftFactor: pool.overdraftFactor,
      ttlSec: pool.leaseTtlSeconds,
      reclaim: pool.reclaim,
      graceSec: pool.disconnectGraceSeconds,
      elastic,
      borrowMaxSec: pool.borrowMaxSeconds,
      borrowMaxFraction: pool.borrowMaxFraction,
      falseReclaimWindowSec: body.settings.falseReclaimWindowSec ?? 3600,
    };
    const whatIf: SimSettings = { ...inForce, ...body.settings };
    const started = performance.now();
    // One compiled event log serves both replays.
    const log = compileEvents(events);
    const a = replay(gateways, log, inForce, from, to);
    const b = replay(gateways, log, whatIf, from, to);
    return {
      poolId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      gateways: gateways.length,
      events: events.length,
      elapsedMs: performance.now() - started,
      inForce: { settings: inForce, report: a },
      whatIf: { settings: whatIf, report: b },
    };
  }

  /**
   * Usage-history retention: deletes up to `batch` usage samples older than `days` days (by the
   * injected clock), oldest first; returns how many. The replay cannot look back further than this.
   */
  pruneUsageHistory(days: number, batch = 2000): Promise<number> {
    return usageHistoryStore.pruneBefore(this.db, new Date(this.now() - days * DAY), batch);
  }
}
