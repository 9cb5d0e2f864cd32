import { decodeJwt } from 'jose';
import type { LeaseGrant } from '../../../shared/protocol/rest.js';
import type { Fleet } from './fleet.js';
import { KINDS, type Points, type Snapshot } from './invariant-checker.js';

interface Accepted {
  jti: string;
  seq: number;
  points: Points;
  expMs: number;
  /** The lease's disconnectGraceSec claim in ms (on-disconnect pools); undefined: none. */
  graceMs: number | undefined;
}

/** A lease as the agent receives it (the claims the model needs). */
export interface ReceivedLease {
  jti: string;
  seq: number;
  points: Points;
  exp: number;
  disconnectGraceSec?: number;
}

/** What an agent takes from a grant: the lease's claims it enforces, read from the token. */
export function receivedLease(g: LeaseGrant): ReceivedLease {
  const c = decodeJwt(g.lease) as { points: Points; exp: number; disconnectGraceSec?: number };
  return { jti: g.jti, seq: g.seq, points: c.points, exp: c.exp, ...(c.disconnectGraceSec !== undefined ? { disconnectGraceSec: c.disconnectGraceSec } : {}) };
}

/**
 * The agents' side of the invariant (F2: "on the side of what agents enforce"): each simulated
 * agent enforces the newest lease it accepted until that lease's exp, and a lease carrying
 * `disconnectGraceSec` only while its last contact (the *send* time of the last request the
 * controller answered with a lease, as agent/lease/reachability-grace.ts counts it) is less than
 * the grace ago. It stops before it tells the controller (release), and time passing for its lease
 * (the mix's `age`) reaches it first, so the model is never behind the agent it stands for. The sum
 * it enforces per pool must stay within the pool's limit unless the pool is over-committed by a
 * forced license (checked against the sampler's latest snapshot).
 */
export class AgentModel {
  private readonly enforced = new Map<string, Accepted>();
  /**
   * Bumped when an agent stops (release) or is cut off (partition): a grant asked before and
   * answered after reaches no running agent (the real one exited, or the answer was lost), so the
   * model does not take it up.
   */
  private readonly stops = new Map<string, number>();
  /** Per gateway: send time (ms) of the last request answered with a lease. */
  private readonly contactMs = new Map<string, number>();
  private readonly poolOf: Map<string, string>;
  /** When a pool's limit last changed (license, overdraft): an older snapshot cannot judge it. */
  private readonly limitChangedAt = new Map<string, number>();
  /** Limit changes in flight per pool: until one returns, no snapshot can judge the pool. */
  private readonly limitChanging = new Map<string, number>();
  readonly violations: string[] = [];
  checks = 0;
  /**
   * Checks the model declined because the latest snapshot could not judge them, yet whose sum was
   * above that snapshot's limit: each one would have been a false alarm of the earlier model, which
   * learnt of a bigger license or overdraft only after its upload returned, while grants had
   * already used the new limit.
   */
  staleLimitExcused = 0;

  constructor(fleet: Fleet) {
    this.poolOf = new Map(fleet.gateways.map((g) => [g.id, g.pool.id]));
  }

  /** Call before asking for a lease; pass the result to accept. */
  generation(gatewayId: string): number {
    return this.stops.get(gatewayId) ?? 0;
  }

  /**
   * The answer to a grant asked at `sentAtMs` under `generation` reached the agent (unless it
   * stopped or was cut off meanwhile): it is a contact, and the agent enforces the lease if newer.
   */
  accept(gatewayId: string, lease: ReceivedLease, generation = this.generation(gatewayId), sentAtMs = Date.now()): void {
    if (generation !== this.generation(gatewayId)) return;
    this.contactMs.set(gatewayId, Math.max(this.contactMs.get(gatewayId) ?? Number.NEGATIVE_INFINITY, sentAtMs));
    const cur = this.enforced.get(gatewayId);
    if (cur && cur.seq > lease.seq) return;
    this.enforced.set(gatewayId, {
      jti: lease.jti,
      seq: lease.seq,
      points: lease.points,
      expMs: lease.exp * 1000,
      graceMs: lease.disconnectGraceSec === undefined ? undefined : lease.disconnectGraceSec * 1000,
    });
  }

  /**
   * The agent stopped using its lease (before releasing it); with `jtis`, only if it enforces one of
   * them (time passed for those leases). Returns the lease it stopped enforcing, if any.
   */
  drop(gatewayId: string, jtis?: readonly string[]): string | undefined {
    if (!jtis) this.stops.set(gatewayId, this.generation(gatewayId) + 1);
    const cur = this.enforced.get(gatewayId);
    if (cur && (!jtis || jtis.includes(cur.jti))) {
      this.enforced.delete(gatewayId);
      return cur.jti;
    }
    return undefined;
  }

  /**
   * The agent is cut off from the controller: answers in flight are lost. It keeps enforcing its
   * lease while the lease's grace since its last contact allows (or until exp without one).
   */
  cut(gatewayId: string): void {
    this.stops.set(gatewayId, this.generation(gatewayId) + 1);
  }

  /** A license upload or overdraft change of the pool starts (its outcome is not known yet). */
  limitChangeStarted(poolId: string): void {
    this.limitChanging.set(poolId, (this.limitChanging.get(poolId) ?? 0) + 1);
  }

  /** ...and returned at `atMs` (committed or refused). */
  limitChanged(poolId: string, atMs: number): void {
    const n = (this.limitChanging.get(poolId) ?? 0) - 1;
    if (n > 0) this.limitChanging.set(poolId, n);
    else this.limitChanging.delete(poolId);
    this.limitChangedAt.set(poolId, atMs);
  }

  /** Whether the agent of `gatewayId` enforces lease `a` at `nowMs`. */
  private enforces(gatewayId: string, a: Accepted, nowMs: number): boolean {
    if (a.expMs <= nowMs) return false;
    if (a.graceMs === undefined) return true;
    // On trial once the grace since the last contact ran out (the trial allowance is no pool's).
    return nowMs - (this.contactMs.get(gatewayId) ?? Number.NEGATIVE_INFINITY) < a.graceMs;
  }

  /** Sum per pool of what agents enforce at `nowMs`, against the limits of the latest snapshot. */
  check(nowMs: number, snap: Snapshot | undefined): void {
    if (!snap) return;
    this.checks += 1;
    const sums = new Map<string, { points: Points; by: string[] }>();
    for (const [gw, a] of this.enforced) {
      if (!this.enforces(gw, a, nowMs)) continue;
      const pool = this.poolOf.get(gw)!;
      const s = sums.get(pool) ?? { points: { tags: 0, connections: 0 }, by: [] };
      for (const k of KINDS) s.points[k] += a.points[k];
      s.by.push(`${gw.slice(0, 8)}:${a.points.tags}/${a.points.connections}@seq${a.seq}`);
      sums.set(pool, s);
    }
    for (const [pool, s] of sums) {
      const r = snap.pools.get(pool);
      if (!r || r.overCommitted) continue;
      const over = KINDS.filter((k) => s.points[k] > r.limit[k]);
      // A limit change in flight, or one that returned after the snapshot was taken: the snapshot's
      // limit may be the old one (a bigger license's points are granted before its upload returns).
      if (this.limitChanging.has(pool) || (this.limitChangedAt.get(pool) ?? 0) >= snap.at.getTime()) {
        if (over.length) this.staleLimitExcused += 1;
        continue;
      }
      for (const k of over) {
        this.violations.push(`${new Date(nowMs).toISOString()}: agents of pool ${pool} enforce ${s.points[k]} ${k} > limit ${r.limit[k]} (snapshot ${snap.at.toISOString()}; ${s.by.join(' ')})`);
      }
    }
  }
}
