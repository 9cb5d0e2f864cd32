import { auditStore, type AuditEntry } from '../audit/audit-store.js';
import { actorLabel, systemActor, type Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import { notFound } from '../errors/app-error.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import { reclaimDisconnected } from './disconnect-reclaim.js';
import type { LeaseObserver } from './lease-service.js';
import { leaseStore, type EndedLease } from './lease-store.js';
import { timedStatement, timedTx } from './timed-transaction.js';

export interface LeaseEndingsOptions {
  readonly now?: () => number;
  readonly observer?: LeaseObserver;
  /** Called after a commit that returned points to a pool (the lease pusher serves who waits). */
  readonly pointsFreed?: (poolId: string) => void;
}

/**
 * How leases end other than by being superseded (LeaseService.acknowledge): released by a clean
 * stop, expired, or reclaimed from a gateway lost past its grace; and how ended leases are pruned.
 * Each returns the points at once, so every path calls `pointsFreed` after its commit.
 */
export class LeaseEndings {
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly opts: LeaseEndingsOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** A clean stop: every live lease of the gateway ends now and its points return at once. */
  async release(gatewayId: string, actor: Actor): Promise<{ released: number }> {
    const ended = await timedTx(this.db, this.opts.observer, 'release', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) throw notFound('gateway', gatewayId);
      const rows = await leaseStore.endLive(tx, g.id, 'released');
      if (rows.length) {
        await auditStore.append(tx, [
          {
            actor: actorLabel(actor),
            action: 'lease.released',
            poolId: g.poolId,
            gatewayId: g.id,
            subject: rows.map((e) => e.id).join(','),
            before: { leases: rows.length, tags: Math.max(...rows.map((e) => e.tags)), connections: Math.max(...rows.map((e) => e.connections)) },
          },
        ]);
      }
      return rows;
    });
    this.ended('released', ended);
    return { released: ended.length };
  }

  /**
   * reclaim on-disconnect: ends the leases of gateways lost for longer than their lease's grace
   * plus `marginSec` (see disconnect-reclaim.ts). Returns how many ended.
   */
  reclaimDisconnected(marginSec: number, batch = 1000): Promise<number> {
    return this.inBatches(batch, 'reclaimed', () =>
      timedStatement(this.db, this.opts.observer, 'sweep', (sql) => reclaimDisconnected(sql, this.now(), marginSec, batch)),
    );
  }

  /** Ends leases past their expiry; safe to run on every replica at once. Returns how many ended. */
  sweep(batch = 1000): Promise<number> {
    return this.inBatches(batch, 'expired', () =>
      timedTx(this.db, this.opts.observer, 'sweep', async (tx) => {
        const rows = await leaseStore.expireDue(tx, batch);
        await auditStore.append(
          tx,
          rows.map(
            (r): AuditEntry => ({
              actor: actorLabel(systemActor('sweeper')),
              action: 'lease.expired',
              poolId: r.poolId,
              gatewayId: r.gatewayId,
              subject: r.id,
              before: { seq: r.seq, tags: r.tags, connections: r.connections },
            }),
          ),
        );
        return rows;
      }),
    );
  }

  /** Deletes ended leases older than `days` (one batch); returns how many. See leaseStore.pruneEnded. */
  pruneHistory(days: number, batch = 2000): Promise<number> {
    return timedTx(this.db, this.opts.observer, 'sweep', (tx) => leaseStore.pruneEnded(tx, days, batch));
  }

  /** Runs `endSome` until a run ends fewer than `batch` leases; returns how many ended in all. */
  private async inBatches(batch: number, state: 'expired' | 'reclaimed', endSome: () => Promise<readonly EndedLease[]>): Promise<number> {
    let total = 0;
    for (;;) {
      const ended = await endSome();
      total += ended.length;
      this.ended(state, ended);
      if (ended.length < batch) return total;
    }
  }

  private ended(state: 'released' | 'expired' | 'reclaimed', ended: readonly EndedLease[]): void {
    if (!ended.length) return;
    this.opts.observer?.ended?.(state, ended);
    for (const poolId of new Set(ended.map((e) => e.poolId))) this.opts.pointsFreed?.(poolId);
  }
}
