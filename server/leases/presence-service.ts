import { isUuid } from '../../shared/protocol/uuid.js';
import { auditStore } from '../audit/audit-store.js';
import { BatchQueue, failed, succeeded, type Outcome } from '../db/batch-queue.js';
import { LANES, type ConnectionLanes } from '../db/connection-budget.js';
import type { Db, Tx } from '../db/database.js';
import type { EventBus } from '../events/event-bus.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { leaseBatchStore } from './lease-batch-store.js';
import type { LeaseObserver } from './lease-service.js';
import { timedStatement, timedTx } from './timed-transaction.js';

export interface PresenceServiceOptions {
  readonly events?: EventBus;
  readonly now?: () => number;
  readonly observer?: LeaseObserver;
  /** This service's lanes of the connection budget (server/db/connection-budget.ts). */
  readonly lanes?: Pick<ConnectionLanes, 'presence' | 'offline'>;
  /** At most this many "online" calls per statement. */
  readonly maxBatch?: number;
}

interface PresenceRequest {
  readonly gatewayId: string;
  readonly online: boolean;
  readonly transport: string | null;
  /** Any other message from the agent: online if it was not; an online gateway keeps its transport. */
  readonly seen?: boolean;
}

/**
 * Whether a gateway is online and over which transport, as the transports report it (connect,
 * hello, last will, disconnect, any message). Going offline returns nothing by itself: see
 * disconnect-reclaim.ts. Calls for one gateway apply in the order made; "online" calls are applied
 * in batches, one statement each; "offline" ones one transaction per gateway, a few at a time.
 */
export class PresenceService {
  private readonly now: () => number;
  private readonly online: BatchQueue<PresenceRequest, void>;
  /** Offline transactions that run at once. */
  private readonly offlineLimit: ConcurrencyLimit;

  constructor(
    private readonly db: Db,
    private readonly opts: PresenceServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    const lanes = opts.lanes ?? LANES;
    this.online = new BatchQueue((b) => this.batch(b), { maxBatch: opts.maxBatch ?? 128, lanes: lanes.presence, key: (r) => r.gatewayId });
    this.offlineLimit = new ConcurrencyLimit(lanes.offline);
  }

  /** Presence from the transports (connect, hello, last will, disconnect). */
  set(gatewayId: string, online: boolean, transport: string | null): Promise<void> {
    if (!isUuid(gatewayId)) return Promise.resolve(); // names no gateway
    return this.online.submit({ gatewayId, online, transport });
  }

  /**
   * "Offline" applied only if `stillGone` holds once the gateway row is locked: a replica taking over
   * a dead replica's agents, or a socket that closed, re-checks that no replica holds one (server/replicas).
   */
  setOfflineIf(gatewayId: string, transport: string, stillGone: (tx: Tx) => Promise<boolean>): Promise<void> {
    if (!isUuid(gatewayId)) return Promise.resolve();
    return this.offlineLimit.run(() => this.setOffline(gatewayId, transport, stillGone));
  }

  /**
   * Any message from an agent over a live transport (renew, ack, usage) shows it is online: a
   * gateway shown offline becomes online over that transport; an online one keeps its transport,
   * so a late message from the transport it left cannot take presence away from the live one.
   */
  seen(gatewayId: string, transport: string): Promise<void> {
    if (!isUuid(gatewayId)) return Promise.resolve();
    return this.online.submit({ gatewayId, online: true, transport, seen: true });
  }

  private async batch(requests: readonly PresenceRequest[]): Promise<Outcome<void>[]> {
    const online = requests.filter((r) => r.online);
    let onlineOutcome: Outcome<void> = succeeded(undefined);
    if (online.length) {
      try {
        const changed = await timedStatement(this.db, this.opts.observer, 'presence', (sql) =>
          leaseBatchStore.markOnline(sql, online.map((r) => ({ ...r, seen: r.seen === true })), this.now()),
        );
        for (const r of changed) this.opts.events?.emit('gateway.presence', { gatewayId: r.id, poolId: r.poolId, online: true, transport: r.transport });
      } catch (err) {
        onlineOutcome = failed(err);
      }
    }
    // Going offline: one transaction per gateway, a few at a time. The batch key keeps one request per gateway.
    return Promise.all(
      requests.map((r) =>
        r.online
          ? onlineOutcome
          : this.offlineLimit.run(() => this.setOffline(r.gatewayId, r.transport)).then(
              () => succeeded(undefined),
              (err: unknown) => failed<void>(err),
            ),
      ),
    );
  }

  private async setOffline(gatewayId: string, transport: string | null, stillGone?: (tx: Tx) => Promise<boolean>): Promise<void> {
    const changed = await timedTx(this.db, this.opts.observer, 'presence', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) return undefined;
      if (stillGone && !(await stillGone(tx))) return undefined;
      // An agent that failed over: a late "offline" from the transport it left says nothing.
      if (g.online && transport !== null && g.transport !== null && g.transport !== transport) return undefined;
      if (!g.online) return undefined;
      const at = new Date(this.now());
      await gatewayStore.update(tx, gatewayId, { online: false, presenceChangedAt: at, lastSeenAt: at });
      await auditStore.append(tx, [{ actor: 'system:presence', action: 'gateway.offline', poolId: g.poolId, gatewayId, subject: g.name, after: { transport } }]);
      return { poolId: g.poolId };
    });
    if (changed) this.opts.events?.emit('gateway.presence', { gatewayId, poolId: changed.poolId, online: false, transport });
  }
}
