import { EventEmitter } from 'node:events';
import type { ChangeNotifier } from '../leases/change-notifier.js';

/** Facts other parts react to after they committed (live console, metrics). Never used for control flow. */
export interface DomainEvents {
  'gateway.changed': { gatewayId: string };
  'pool.changed': { poolId: string };
  'gateway.presence': { gatewayId: string; poolId: string; online: boolean; transport: string | null };
  /** Committed (decommission, binding reset): the gateway's live sessions must end now. */
  'gateway.credential-revoked': { gatewayId: string };
}

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Each console socket and metric collector subscribes; the default cap of 10 is meaningless here.
    this.emitter.setMaxListeners(0);
  }

  emit<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]): void {
    this.emitter.emit(event, payload);
  }

  on<K extends keyof DomainEvents>(event: K, listener: (payload: DomainEvents[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }
}

/** Fans a committed change out to the lease pusher and the event bus. */
export function notifierWithEvents(inner: ChangeNotifier, bus: EventBus): ChangeNotifier {
  return {
    gatewayChanged(gatewayId) {
      inner.gatewayChanged(gatewayId);
      bus.emit('gateway.changed', { gatewayId });
    },
    poolChanged(poolId) {
      inner.poolChanged(poolId);
      bus.emit('pool.changed', { poolId });
    },
    pointsFreed(poolId) {
      inner.pointsFreed(poolId);
      bus.emit('pool.changed', { poolId });
    },
  };
}
