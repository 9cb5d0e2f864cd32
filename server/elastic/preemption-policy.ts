import { POINT_KINDS } from '../../shared/protocol/limits.js';
import type { Points } from '../leases/lease-accounting.js';
import { queueOrder, type Contender } from '../leases/grant-policy.js';

/** A gateway that holds points pre-emption may take (elastic, not reserved, online or not). */
export interface Holder {
  readonly gatewayId: string;
  readonly priority: number;
  readonly allocation: Points;
  readonly held: Points;
  /** Last reported usage (0 when never reported). */
  readonly usage: Points;
  /** Elastic min per kind; a kind without elastic bounds is never taken. */
  readonly min: Partial<Points>;
}

export interface Preemption {
  readonly victimId: string;
  /** The victim's allocation after the cut. */
  readonly allocation: Points;
  /** The waiting gateways the cut serves. */
  readonly forIds: readonly string[];
  /** headroom: only unused points; min: below usage too (the victim's over-limit policy applies). */
  readonly depth: 'headroom' | 'min';
}

const owed = (a: Points, h: Points, k: keyof Points) => Math.max(0, h[k] - a[k]);

/**
 * Which lower-priority holders give up points so the pool's waiting gateways can be served (pure).
 * `free`: the pool's limit minus everything held. Points a holder already owes back (it holds more
 * than its allocation, a smaller lease not acknowledged yet) count as coming, so nothing is taken
 * twice. Waiters are served in queue order; for each, free and coming points first, then cuts from
 * holders of strictly lower priority (never equal), lowest priority first: their unused headroom
 * (down to usage, never below min), then, only with `toMin`, down to min. A cut lowers an
 * allocation only; the points return when the victim acknowledges the smaller lease, releases, or
 * its lease expires (lease-accounting), so the waiter stays pending until then.
 */
export function planPreemption(free: Points, waiters: readonly Contender[], holders: readonly Holder[], toMin: boolean): Preemption[] {
  const alloc = new Map(holders.map((h) => [h.gatewayId, { ...h.allocation }]));
  const forIds = new Map<string, Set<string>>();
  const depth = new Map<string, 'headroom' | 'min'>();
  const avail = { ...free };
  for (const h of holders) for (const k of POINT_KINDS) avail[k] += owed(h.allocation, h.held, k);
  const victimsOrder = [...holders].sort((a, b) => a.priority - b.priority || (a.gatewayId < b.gatewayId ? -1 : 1));
  for (const w of [...waiters].sort(queueOrder)) {
    for (const k of POINT_KINDS) {
      let short = Math.max(0, w.allocation[k] - w.held[k]);
      const covered = Math.min(short, Math.max(0, avail[k]));
      avail[k] -= covered;
      short -= covered;
      for (const stage of toMin ? (['headroom', 'min'] as const) : (['headroom'] as const)) {
        for (const v of victimsOrder) {
          if (short <= 0) break;
          if (v.priority >= w.priority || v.gatewayId === w.gatewayId) continue;
          const min = v.min[k];
          if (min === undefined) continue;
          const a = alloc.get(v.gatewayId)!;
          const floor = stage === 'headroom' ? Math.max(min, v.usage[k]) : min;
          // Only points the victim holds come back; a cut above what it holds frees nothing.
          const top = Math.min(a[k], v.held[k]);
          const cut = Math.min(short, top - floor);
          if (cut <= 0) continue;
          a[k] = Math.min(a[k], top - cut);
          short -= cut;
          (forIds.get(v.gatewayId) ?? forIds.set(v.gatewayId, new Set()).get(v.gatewayId)!).add(w.gatewayId);
          if (stage === 'min' && a[k] < v.usage[k]) depth.set(v.gatewayId, 'min');
        }
      }
    }
  }
  return holders
    .filter((h) => forIds.has(h.gatewayId))
    .map((h) => ({ victimId: h.gatewayId, allocation: alloc.get(h.gatewayId)!, forIds: [...forIds.get(h.gatewayId)!], depth: depth.get(h.gatewayId) ?? 'headroom' }));
}
