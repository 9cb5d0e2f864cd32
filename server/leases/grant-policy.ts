import { POINT_KINDS } from '../../shared/protocol/limits.js';
import type { Points } from './lease-accounting.js';

export type GrantMode = 'partial' | 'all-or-nothing';

/** What one grant gives and what of the allocation still waits. */
export interface GrantDecision {
  points: Points;
  pending: Points;
}

/**
 * One gateway's grant, given what it holds and the points free for it (limit minus everything
 * held, minus what gateways ahead of it in the queue wait for; may be negative). A grant never
 * gives less than min(allocation, held): a renewal keeps what the gateway holds.
 * partial: per kind, up to what it holds plus what is free.
 * all-or-nothing: the whole allocation if every kind fits, else nothing beyond what it holds.
 */
export function decideGrant(allocation: Points, held: Points, free: Points, mode: GrantMode): GrantDecision {
  const reach = (k: keyof Points) => held[k] + Math.max(0, free[k]);
  const fits = POINT_KINDS.every((k) => allocation[k] <= reach(k));
  const points = { tags: 0, connections: 0 };
  for (const k of POINT_KINDS) {
    points[k] = mode === 'partial' || fits ? Math.min(allocation[k], reach(k)) : Math.min(allocation[k], held[k]);
  }
  return { points, pending: { tags: allocation.tags - points.tags, connections: allocation.connections - points.connections } };
}

/** A gateway competing for a pool's free points. */
export interface Contender {
  readonly gatewayId: string;
  readonly priority: number;
  /** When it began waiting; newcomers wait from now. */
  readonly sinceMs: number;
  readonly allocation: Points;
  readonly held: Points;
  /** True when this batch grants it; false for a queued gateway that is only owed points. */
  readonly granting: boolean;
}

/** Serving order: higher priority first, then who waited longer, then id (stable). */
function queueOrder(a: Contender, b: Contender): number {
  return b.priority - a.priority || a.sinceMs - b.sinceMs || (a.gatewayId < b.gatewayId ? -1 : a.gatewayId > b.gatewayId ? 1 : 0);
}

/**
 * Decides the grants of one pool's batch. Points freed go to waiting gateways in priority then
 * arrival order: a gateway of the batch only gets free points that no gateway ahead of it waits
 * for. `poolHeld` counts every gateway's held points, the contenders' included.
 */
export function planPoolGrants(limit: Points, poolHeld: Points, mode: GrantMode, contenders: readonly Contender[]): Map<string, GrantDecision> {
  const free = { tags: limit.tags - poolHeld.tags, connections: limit.connections - poolHeld.connections };
  const out = new Map<string, GrantDecision>();
  for (const c of [...contenders].sort(queueOrder)) {
    if (!c.granting) {
      // Owed, not granted now: keep its shortfall for it.
      for (const k of POINT_KINDS) free[k] -= Math.max(0, c.allocation[k] - c.held[k]);
      continue;
    }
    const d = decideGrant(c.allocation, c.held, free, mode);
    // A grant below what it holds frees nothing until the agent acknowledges it; what it still
    // waits for stays owed to it, so those behind cannot overtake it (all-or-nothing included).
    for (const k of POINT_KINDS) free[k] -= Math.max(0, d.points[k] - c.held[k]) + d.pending[k];
    out.set(c.gatewayId, d);
  }
  return out;
}
