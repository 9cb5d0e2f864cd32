import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import { TRIAL_ALLOWANCE, type Limits } from '../../shared/protocol/limits.js';
import type { Clock } from './clock.js';

export interface HeldLease {
  readonly jws: string;
  readonly claims: LeaseClaims;
  /** Wall-clock ms when the lease was accepted (persisted, see `restore`). */
  readonly receivedAt: number;
}

export type LicenseType = 'FLOATING' | 'TRIAL';

export interface LeaseHolderOptions {
  readonly clock: Clock;
  /** The highest seq ever accepted (from the state file), so an old lease is not taken after a restart. */
  readonly lastAcceptedSeq?: number;
  /** Whether a valid lease may be enforced now (reclaim on-disconnect: see reachability-grace.ts). */
  readonly usable?: (claims: LeaseClaims) => boolean;
}

/**
 * The lease the agent enforces. Its lifetime runs out on whichever clock ends it first: the wall
 * clock (exp) or the monotonic clock (ttl from acceptance), so setting the clock back never extends it.
 */
export class LeaseHolder {
  private held: HeldLease | undefined;
  private monotonicDeadlineMs = 0;
  private lastSeq: number;

  constructor(private readonly options: LeaseHolderOptions) {
    this.lastSeq = options.lastAcceptedSeq ?? 0;
  }

  /** Takes a lease the verifier accepted. */
  accept(jws: string, claims: LeaseClaims): HeldLease {
    this.takeSeq(claims.seq);
    this.held = { jws, claims, receivedAt: this.options.clock.now() };
    this.monotonicDeadlineMs = this.options.clock.monotonicMs() + claims.ttl * 1000;
    return this.held;
  }

  /**
   * Takes a lease read back from disk after a restart, when the monotonic clock has started over.
   * Choice: remaining = min(exp - now, receivedAt + ttl - now), capped to [0, ttl]. A wall clock set
   * back across the restart can therefore stretch the lease by at most one ttl, never indefinitely.
   * Returns whether any lifetime remains.
   */
  restore(lease: HeldLease): boolean {
    const { clock } = this.options;
    const ttlMs = lease.claims.ttl * 1000;
    const now = clock.now();
    const remaining = Math.min(lease.claims.exp * 1000 - now, lease.receivedAt + ttlMs - now);
    this.lastSeq = Math.max(this.lastSeq, lease.claims.seq);
    this.held = lease;
    this.monotonicDeadlineMs = clock.monotonicMs() + Math.max(0, Math.min(ttlMs, remaining));
    return this.msLeft() > 0;
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

  /** The last lease taken, valid or not (for the license view after expiry). */
  lastAccepted(): HeldLease | undefined {
    return this.held;
  }

  msLeft(): number {
    if (!this.held) return 0;
    const { clock } = this.options;
    const byWall = this.held.claims.exp * 1000 - clock.now();
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

  /** Renew once a third of the lifetime has passed, i.e. when two thirds remain; 0 means now. */
  renewDueInMs(): number {
    if (!this.held) return 0;
    return Math.max(0, Math.ceil(this.msLeft() - (this.held.claims.ttl * 1000 * 2) / 3));
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

function isEmptyGrant(claims: LeaseClaims): boolean {
  return claims.points.tags === 0 && claims.points.connections === 0 && claims.plugins.length === 0;
}
