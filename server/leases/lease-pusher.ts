import type { LeaseGrant } from '../../shared/protocol/rest.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors/app-error.js';
import { IdleWaiters } from '../idle-waiters.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import { poolStore } from '../pools/pool-store.js';
import type { Logger } from '../logger.js';
import type { ChangeNotifier } from './change-notifier.js';
import type { LeaseObserver, LeaseService } from './lease-service.js';

/** A transport that can hand a lease to a connected agent (MQTT, Socket.IO). */
export interface LeaseDelivery {
  readonly name: string;
  /** Resolves true when this transport delivered it (or queued it durably, e.g. retained MQTT). */
  deliver(gatewayId: string, grant: LeaseGrant): Promise<boolean>;
}

/**
 * Pushes a fresh lease to a gateway as soon as something that affects it commits. Requests for
 * one gateway coalesce, so a burst of changes costs one lease. Many pushes are in flight at once
 * so that the lease service can grant them in batches; the concurrency bounds memory, not the
 * database, which the service's batch lanes bound.
 */
export class LeasePusher implements ChangeNotifier {
  private readonly pending = new Set<string>();
  private readonly deliveries: LeaseDelivery[] = [];
  private running = 0;
  private readonly idleWaiters = new IdleWaiters(() => this.pending.size === 0 && this.running === 0);

  constructor(
    private readonly db: Db,
    private readonly leases: Pick<LeaseService, 'pushGrant'>,
    private readonly logger: Logger,
    private readonly observer: Pick<LeaseObserver, 'pushed'> = {},
    private readonly concurrency = 512,
    /** Which transport the gateway's agent is on (gateways.transport); injectable for tests. */
    private readonly transportOf: (gatewayId: string) => Promise<string | null> = (id) => currentTransport(db, id),
  ) {}

  addDelivery(d: LeaseDelivery): void {
    this.deliveries.push(d);
  }

  gatewayChanged(gatewayId: string): void {
    this.pending.add(gatewayId);
    this.pump();
  }

  poolChanged(poolId: string): void {
    gatewayStore
      .idsInPool(this.db, poolId)
      .then((ids) => ids.forEach((id) => this.gatewayChanged(id)))
      .catch((err: unknown) => this.logger.warn({ err, poolId }, 'could not list gateways to push to'));
  }

  /** Pending gateways (F2) get a pushed lease, in serving order, as far as the free points reach. */
  pointsFreed(poolId: string): void {
    this.running += 1;
    poolStore
      .servableWaiting(this.db, poolId)
      .then((ids) => ids.forEach((id) => this.gatewayChanged(id)))
      .catch((err: unknown) => this.logger.warn({ err, poolId }, 'could not list waiting gateways to push to'))
      .finally(() => this.settle());
  }

  /** Resolves once nothing is queued or in flight (tests, shutdown). */
  idle(): Promise<void> {
    return this.idleWaiters.wait();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.pending.size > 0) {
      const id = this.pending.values().next().value as string;
      this.pending.delete(id);
      this.running += 1;
      void this.push(id).finally(() => this.settle());
    }
  }

  private settle(): void {
    this.running -= 1;
    this.pump();
    this.idleWaiters.check();
  }

  private async push(gatewayId: string): Promise<void> {
    if (this.deliveries.length === 0) return;
    try {
      // Offline gateways get a fresh lease when they reconnect; pushing now would only burn seqs.
      const grant = await this.leases.pushGrant(gatewayId);
      if (!grant) return this.observer.pushed?.('skipped');
      // Every transport gets it (the retained MQTT lease also serves an agent that fails over to
      // MQTT later), but it counts as delivered only when the transport the agent is on delivered it:
      // a retained publish is no delivery to an agent on Socket.IO.
      const [on, ...outcomes] = await Promise.all([
        this.transportOf(gatewayId),
        ...this.deliveries.map(async (d) => ({ name: d.name, ok: await d.deliver(gatewayId, grant).catch((err: unknown) => {
          this.logger.warn({ err, gatewayId, transport: d.name }, 'lease delivery failed');
          return false;
        }) })),
      ]);
      const delivered = outcomes.some((o) => o.ok && o.name === on);
      this.observer.pushed?.(delivered ? 'delivered' : 'undelivered');
      if (!delivered) this.logger.debug({ gatewayId, transport: on }, 'pushed lease not delivered on the transport the agent is on');
    } catch (err) {
      if (err instanceof AppError) {
        this.observer.pushed?.('skipped');
        this.logger.debug({ gatewayId, problem: err.problem }, 'no lease pushed');
      } else {
        this.observer.pushed?.('failed');
        this.logger.warn({ err, gatewayId }, 'lease push failed');
      }
    }
  }
}

async function currentTransport(db: Db, gatewayId: string): Promise<string | null> {
  const [row] = await db.$client<{ transport: string | null }[]>`select transport from gateways where id = ${gatewayId}`;
  return row?.transport ?? null;
}
