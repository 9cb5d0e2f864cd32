import { POINT_KINDS, type PointKind } from '../../shared/protocol/limits.js';
import type { Totals } from './pool-store.js';

export { POINT_KINDS, type PointKind } from '../../shared/protocol/limits.js';

/** The most a pool may ever hold: capacity times its overdraft factor, rounded down. */
export function poolLimit(capacity: Totals, overdraftFactor: number): Totals {
  return {
    tags: Math.floor(capacity.tags * overdraftFactor + 1e-9),
    connections: Math.floor(capacity.connections * overdraftFactor + 1e-9),
  };
}

/**
 * Kinds where the pool's allocations after a change would exceed `cap` times its limit (F2's
 * maxOversubscription); none when there is no cap.
 */
export function oversubscriptionExcess(allocatedAfter: Totals, limit: Totals, cap: number | null): { kind: PointKind; allocated: number; most: number }[] {
  if (cap === null) return [];
  return POINT_KINDS.map((kind) => ({ kind, allocated: allocatedAfter[kind], most: Math.floor(limit[kind] * cap + 1e-9) })).filter((e) => e.allocated > e.most);
}

/** Raising a reserved gateway's allocation: it holds the new allocation at once, so it must fit. */
export interface RaiseCheck {
  /** Held by the whole pool now. */
  poolHeld: Totals;
  /** Held by this gateway now (lease-accounting). */
  gatewayHeld: Totals;
  /** The largest live lease of this gateway (0 when none). */
  gatewayLeaseMax: Totals;
  requested: Totals;
  limit: Totals;
}

export interface Shortfall {
  kind: PointKind;
  requested: number;
  /** Points of this kind no gateway of the pool holds. */
  free: number;
  /** The largest allocation this gateway could have now (free plus what it holds). */
  available: number;
}

/**
 * After the change the gateway holds max(requested, live lease); the pool's held total must stay
 * within its limit. Returns the kinds that do not fit, with the requested and free figures.
 */
export function raiseShortfalls(c: RaiseCheck): Shortfall[] {
  const out: Shortfall[] = [];
  for (const kind of POINT_KINDS) {
    const newGatewayHeld = Math.max(c.requested[kind], c.gatewayLeaseMax[kind]);
    const delta = newGatewayHeld - c.gatewayHeld[kind];
    if (delta <= 0) continue;
    const free = Math.max(0, c.limit[kind] - c.poolHeld[kind]);
    if (delta > free) out.push({ kind, requested: c.requested[kind], free, available: free + c.gatewayHeld[kind] });
  }
  return out;
}

/** Kinds where a new limit would leave the pool below what it already holds. */
export function licenseShortfalls(held: Totals, newLimit: Totals): { kind: PointKind; held: number; limit: number; shortfall: number }[] {
  return POINT_KINDS.filter((k) => held[k] > newLimit[k]).map((k) => ({
    kind: k,
    held: held[k],
    limit: newLimit[k],
    shortfall: held[k] - newLimit[k],
  }));
}

export function utilization(held: Totals, limit: Totals): { tags: number; connections: number } {
  const ratio = (h: number, l: number) => (l > 0 ? h / l : h > 0 ? 1 : 0);
  return { tags: ratio(held.tags, limit.tags), connections: ratio(held.connections, limit.connections) };
}
