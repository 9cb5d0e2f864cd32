import type { Fleet } from './fleet.js';
import { KINDS, type Points, type Snapshot } from './invariant-checker.js';

interface Accepted {
  jti: string;
  seq: number;
  points: Points;
  expMs: number;
}

/**
 * The agents' side of the invariant (F2: "on the side of what agents enforce"): each simulated
 * agent enforces the newest lease it accepted until that lease's exp. It stops before it tells
 * the controller (release), and time passing for its lease (the mix's `age`) reaches it first, so
 * the model is never behind the agent it stands for. The sum it enforces per pool must stay within
 * the pool's limit unless the pool is over-committed by a forced license (checked against the
 * sampler's latest snapshot).
 */
export class AgentModel {
  private readonly enforced = new Map<string, Accepted>();
  /**
   * Bumped when an agent stops (release, cut off): a grant asked before the stop and answered after
   * it reaches no running agent (the real one exited), so the model does not take it up.
   */
  private readonly stops = new Map<string, number>();
  private readonly poolOf: Map<string, string>;
  /** When a pool's limit last changed (license, overdraft): an older snapshot cannot judge it. */
  private readonly limitChangedAt = new Map<string, number>();
  readonly violations: string[] = [];
  checks = 0;

  constructor(fleet: Fleet) {
    this.poolOf = new Map(fleet.gateways.map((g) => [g.id, g.pool.id]));
  }

  /** Call before asking for a lease; pass the result to accept. */
  generation(gatewayId: string): number {
    return this.stops.get(gatewayId) ?? 0;
  }

  accept(gatewayId: string, lease: { jti: string; seq: number; points: Points; exp: number }, generation = this.generation(gatewayId)): void {
    if (generation !== this.generation(gatewayId)) return;
    const cur = this.enforced.get(gatewayId);
    if (cur && cur.seq > lease.seq) return;
    this.enforced.set(gatewayId, { jti: lease.jti, seq: lease.seq, points: lease.points, expMs: lease.exp * 1000 });
  }

  /** The agent stopped using its lease (before releasing it, or cut off under on-disconnect). */
  drop(gatewayId: string, jtis?: readonly string[]): void {
    if (!jtis) this.stops.set(gatewayId, this.generation(gatewayId) + 1);
    const cur = this.enforced.get(gatewayId);
    if (cur && (!jtis || jtis.includes(cur.jti))) this.enforced.delete(gatewayId);
  }

  limitChanged(poolId: string, atMs: number): void {
    this.limitChangedAt.set(poolId, atMs);
  }

  /** Sum per pool of what agents enforce at `nowMs`, against the limits of the latest snapshot. */
  check(nowMs: number, snap: Snapshot | undefined): void {
    if (!snap) return;
    this.checks += 1;
    const sums = new Map<string, Points>();
    for (const [gw, a] of this.enforced) {
      if (a.expMs <= nowMs) continue;
      const pool = this.poolOf.get(gw)!;
      const s = sums.get(pool) ?? { tags: 0, connections: 0 };
      for (const k of KINDS) s[k] += a.points[k];
      sums.set(pool, s);
    }
    for (const [pool, s] of sums) {
      const r = snap.pools.get(pool);
      if (!r || r.overCommitted) continue;
      // The snapshot predates a license or overdraft change: its limit may be the old, smaller one.
      if ((this.limitChangedAt.get(pool) ?? 0) >= snap.at.getTime()) continue;
      for (const k of KINDS) if (s[k] > r.limit[k]) this.violations.push(`${new Date(nowMs).toISOString()}: agents of pool ${pool} enforce ${s[k]} ${k} > limit ${r.limit[k]}`);
    }
  }
}
