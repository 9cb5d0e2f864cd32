import { POINT_KINDS } from '../../shared/protocol/limits.js';
import type { Points } from '../leases/lease-accounting.js';

export type Kind = (typeof POINT_KINDS)[number];

/** A gateway's elastic range for one kind; a kind without one keeps a fixed allocation. */
export interface ElasticBounds {
  readonly min: number;
  readonly max: number;
}

/** The pool's elastic policy (issue 21). */
export interface ElasticPolicy {
  /** Headroom wanted above usage, as a fraction of usage (0.25: 80 in use → 100 allocated). */
  readonly headroom: number;
  /** Largest single resize, as a fraction of the kind's max (at least 1 point). */
  readonly step: number;
  /** No two resizes of one gateway closer than this; usage must stay low this long to shrink. */
  readonly cooldownSec: number;
}

export interface ElasticGateway {
  readonly allocation: Points;
  /** Last reported usage; null: never reported (nothing to size from). */
  readonly usage: Points | null;
  readonly bounds: Partial<Record<Kind, ElasticBounds>>;
  readonly changedAtMs: number | null;
  readonly lowSinceMs: number | null;
}

export interface ElasticDecision {
  /** The allocation after this tick (equal to the current one when nothing changes). */
  readonly allocation: Points;
  readonly changed: boolean;
  /** What the tick saw and did, per kind that changed (the audit row's reason). */
  readonly reason: string;
  /** The new low-usage mark to store. */
  readonly lowSinceMs: number | null;
}

/** The allocation usage asks for with the pool's headroom, within the gateway's range, never below usage. */
export function elasticTarget(usage: number, b: ElasticBounds, headroom: number): number {
  return Math.max(Math.min(b.max, Math.max(b.min, Math.ceil(usage * (1 + headroom)))), Math.min(usage, b.max));
}

/** Usage approaches the allocation: less than half the wanted headroom is left. */
function tight(alloc: number, usage: number, headroom: number): boolean {
  return usage > 0 && alloc < Math.ceil(usage * (1 + headroom / 2));
}

/** Usage is low: the allocation is above twice the wanted headroom (the band between is hysteresis). */
function loose(alloc: number, usage: number, headroom: number, b: ElasticBounds): boolean {
  return alloc > b.min && alloc > Math.ceil(usage * (1 + 2 * headroom));
}

/**
 * One resize decision for one gateway (pure). Grows a kind when usage approaches its allocation
 * and the pool has free points (`free`: limit minus held minus what others wait for), shrinks it
 * when usage has stayed low for a cooldown; every change is at most one step, within [min, max],
 * never below usage, and never within a cooldown of the previous change (no flapping). An
 * allocation outside a changed range moves back into it on the same terms.
 */
export function decideResize(g: ElasticGateway, policy: ElasticPolicy, free: Points, nowMs: number): ElasticDecision {
  const allocation = { ...g.allocation };
  const kinds = POINT_KINDS.filter((k) => g.bounds[k] !== undefined);
  if (!g.usage || kinds.length === 0) return { allocation, changed: false, reason: '', lowSinceMs: null };
  const usage = g.usage;
  const low = kinds.some((k) => loose(g.allocation[k], usage[k], policy.headroom, g.bounds[k]!) || g.allocation[k] > g.bounds[k]!.max);
  const lowSinceMs = low ? (g.lowSinceMs ?? nowMs) : null;
  const cooling = g.changedAtMs !== null && nowMs - g.changedAtMs < policy.cooldownSec * 1000;
  if (cooling) return { allocation, changed: false, reason: '', lowSinceMs };
  const lowLongEnough = lowSinceMs !== null && nowMs - lowSinceMs >= policy.cooldownSec * 1000;
  const reasons: string[] = [];
  for (const k of kinds) {
    const b = g.bounds[k]!;
    const a = g.allocation[k];
    const u = usage[k];
    const stepPts = Math.max(1, Math.ceil(policy.step * b.max));
    const target = elasticTarget(u, b, policy.headroom);
    let next = a;
    if ((tight(a, u, policy.headroom) || a < b.min) && target > a && free[k] > 0) {
      next = Math.min(target, a + stepPts, a + free[k]);
      reasons.push(`${k} grow ${a}→${next}: ${u} in use, target ${target} (headroom ${pct(policy.headroom)}, max ${b.max}, ${free[k]} free)`);
    } else if (lowLongEnough && (loose(a, u, policy.headroom, b) || a > b.max) && target < a) {
      next = Math.max(target, a - stepPts, u);
      reasons.push(`${k} shrink ${a}→${next}: ${u} in use since at least ${policy.cooldownSec} s, target ${target} (headroom ${pct(policy.headroom)}, min ${b.min})`);
    }
    allocation[k] = next;
  }
  const changed = POINT_KINDS.some((k) => allocation[k] !== g.allocation[k]);
  // A shrink resets the low mark (the next one waits a fresh cooldown); a grow clears it.
  return { allocation, changed, reason: reasons.join('; '), lowSinceMs: changed ? null : lowSinceMs };
}

const pct = (f: number) => `${Math.round(f * 100)}%`;
