import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import { TRIAL_ALLOWANCE, type Limits } from '../../shared/protocol/limits.js';
import { borrowLeadMs } from './borrow-policy.js';
import type { Clock } from './clock.js';
import { TimeFloor } from './time-floor.js';

export interface HeldLease {
  readonly jws: string;
  readonly claims: LeaseClaims;
  /** Wall-clock ms when the lease was accepted (informational only: the wall clock is not trusted). */
  readonly receivedAt: number;
}

export type LicenseType = 'FLOATING' | 'TRIAL';

export interface LeaseHolderOptions {
  readonly clock: Clock;
  /** The highest seq ever accepted (from the state file), so an old lease is not taken after a restart. */
  readonly lastAcceptedSeq?: number;
  /** The lower bound of true time leases are judged by (default: one starting at 0, i.e. the wall clock). */
  readonly floor?: TimeFloor;
  /** Tolerated wall-clock disagreement with the controller, in seconds (default 0). */
  readonly clockSkewSec?: number;
  /** Whether a valid lease may be enforced now (reclaim on-disconnect: see reachability-grace.ts). */
  readonly usable?: (claims: LeaseClaims) => boolean;
}

/**
 * The lease the agent enforces. Its lifetime runs out on whichever clock ends it first: the monotonic
 * clock, counting down `exp` minus the time floor (a lower bound of true time: the highest signed
 * `iat` seen, or the bound saved before a restart, plus monotonic time since), or the wall clock
 * (`exp` + skew). Neither setting the clock back, nor a restart, nor a replayed lease extends it.
 */
export class LeaseHolder {
  private held: HeldLease | undefined;
  private monotonicDeadlineMs = 0;
  private renewAtMono = 0;
  private lastSeq: number;
  readonly floor: TimeFloor;
  private readonly skewMs: number;

  constructor(private readonly options: LeaseHolderOptions) {
    this.lastSeq = options.lastAcceptedSeq ?? 0;
    this.floor = options.floor ?? new TimeFloor(options.clock);
    this.skewMs = (options.clockSkewSec ?? 0) * 1000;
  }

  /** Takes a lease the verifier accepted. */
  accept(jws: string, claims: LeaseClaims): HeldLease {
    this.takeSeq(claims.seq);
    this.held = { jws, claims, receivedAt: this.options.clock.now() };
    const remaining = this.startCountdown(claims);
    // A third of the lifetime after receipt, on the monotonic clock; sooner only when the lease
    // arrived with less than its lifetime left, and even then not before half of what remains.
    // A borrow is held to its end: only its last stretch asks for an ordinary lease (borrow-policy.ts).
    const ttlMs = claims.ttl * 1000;
    const renewIn = claims.borrow ? Math.max(0, remaining - borrowLeadMs(claims.ttl)) : Math.max(Math.min(ttlMs / 3, remaining / 2), remaining - (ttlMs * 2) / 3);
    this.renewAtMono = this.options.clock.monotonicMs() + renewIn;
    return this.held;
  }

  /**
   * Takes a lease read back from disk after a restart, when the monotonic clock has started over.
   * remaining = exp - max(time floor restored from disk, iat, wall clock), capped to ttl: a restart
   * loses at most the downtime (and the save interval of the floor), whatever the wall clock says.
   * Returns whether any lifetime remains.
   */
  restore(lease: HeldLease): boolean {
    this.lastSeq = Math.max(this.lastSeq, lease.claims.seq);
    this.held = lease;
    const remaining = this.startCountdown(lease.claims);
    const { ttl, borrow } = lease.claims;
    this.renewAtMono = this.options.clock.monotonicMs() + Math.max(0, remaining - (borrow ? borrowLeadMs(ttl) : (ttl * 1000 * 2) / 3));
    return this.msLeft() > 0;
  }

  private startCountdown(claims: LeaseClaims): number {
    this.floor.raise(claims.iat * 1000);
    const expMs = endMs(claims);
    const remaining = Math.max(0, Math.min(claims.ttl * 1000, expMs - this.floor.judgedNowMs() + this.skewMs, expMs - this.floor.nowMs()));
    this.monotonicDeadlineMs = this.options.clock.monotonicMs() + remaining;
    return remaining;
  }

  /** Drops the lease (released, or revoked by the controller); the seq high-water mark stays. */
  clear(): void {
    this.held = undefined;
    this.monotonicDeadlineMs = 0;
  }

  lastAcceptedSeq(): number {
    return this.lastSeq;
  }

  /** The lease while it is still valid. */
  current(): HeldLease | undefined {
    return this.msLeft() > 0 ? this.held : undefined;
  }

  /** The valid lease when it is an offline borrow (issue 21). */
  borrowed(): HeldLease | undefined {
    const lease = this.current();
    return lease?.claims.borrow ? lease : undefined;
  }

  /** The last lease taken, valid or not (for the license view after expiry). */
  lastAccepted(): HeldLease | undefined {
    return this.held;
  }

  msLeft(): number {
    if (!this.held) return 0;
    const { clock } = this.options;
    const byWall = endMs(this.held.claims) + this.skewMs - clock.now();
    const byMonotonic = this.monotonicDeadlineMs - clock.monotonicMs();
    return Math.max(0, Math.min(byWall, byMonotonic));
  }

  secondsLeft(): number {
    return Math.floor(this.msLeft() / 1000);
  }

  /**
   * FLOATING while a valid lease grants anything. A lease of 0 tags, 0 connections and no plugins
   * counts as no floating license, as in NeuronEX, where ECP assigning 0 tags removes the virtual
   * license and the gateway returns to its free default.
   */
  licenseType(): LicenseType {
    const lease = this.enforced();
    return lease && !isEmptyGrant(lease.claims) ? 'FLOATING' : 'TRIAL';
  }

  /** The valid lease's points and plugins; without one (or with an empty one), the trial allowance (F1). */
  effectiveLimits(): Limits {
    const lease = this.enforced();
    if (!lease || isEmptyGrant(lease.claims)) return TRIAL_ALLOWANCE;
    const { points, plugins } = lease.claims;
    return { tags: points.tags, connections: points.connections, plugins: [...plugins] };
  }

  /** Renew once a third of the lifetime has passed since receipt (monotonic clock); 0 means now. */
  renewDueInMs(): number {
    if (!this.held || this.msLeft() <= 0) return 0;
    return Math.max(0, Math.ceil(this.renewAtMono - this.options.clock.monotonicMs()));
  }

  private enforced(): HeldLease | undefined {
    const lease = this.current();
    return lease && (this.options.usable?.(lease.claims) ?? true) ? lease : undefined;
  }

  private takeSeq(seq: number): void {
    if (seq <= this.lastSeq) throw new RangeError(`lease seq ${seq} is not after ${this.lastSeq}; verify before accepting`);
    this.lastSeq = seq;
  }
}

/** `exp`, or `iat + ttl` if sooner: a lease never lives longer than the lifetime it states. */
function endMs(c: LeaseClaims): number {
  return Math.min(c.exp, c.iat + c.ttl) * 1000;
}

function isEmptyGrant(claims: LeaseClaims): boolean {
  return claims.points.tags === 0 && claims.points.connections === 0 && claims.plugins.length === 0;
}
