import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import type { Clock } from './clock.js';

export interface ReachabilityGraceOptions {
  readonly clock: Clock;
  /** The grace of the lease the agent holds; undefined when it carries none (an on-expiry pool). */
  readonly graceSec: () => number | undefined;
  /** Half the grace passed without contact: ask the controller now rather than at the next renewal. */
  readonly onRefreshDue?: () => void;
  /** The grace ran out: the agent enforces the trial allowance from now on, until the next contact. */
  readonly onCutOff?: (sinceContactMs: number) => void;
}

/**
 * The agent's half of `reclaim: on-disconnect` (PRODUCT F2): a lease that carries
 * `disconnectGraceSec` is enforced only while the agent reached the controller within that grace,
 * counted on the monotonic clock. The controller frees the points grace + a skew margin after it
 * last heard from the agent, so both sides agree under partition.
 *
 * A contact is a request the controller answered with a lease (hello, renew, HTTP pull) and counts
 * from when the request was *sent*: the controller handled it, and noted the gateway as seen, later
 * than that, so the controller's grace always ends after ours. Pushed leases, MQTT acks and refusals
 * do not count: nothing tells the agent when the controller last saw it through them.
 */
export class ReachabilityGrace {
  private lastContactMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The contact whose half-grace refresh was asked for: one refresh per contact. */
  private refreshedFor: number | undefined;

  constructor(private readonly o: ReachabilityGraceOptions) {}

  /** A request sent at `sentAtMs` (monotonic) was answered by the controller. */
  contact(sentAtMs: number): void {
    this.lastContactMs = Math.max(this.lastContactMs ?? Number.NEGATIVE_INFINITY, sentAtMs);
    this.arm();
  }

  /**
   * After a restart the monotonic clock starts over: the last contact is taken as the stored lease's
   * receipt on the wall clock (a renewal is a contact). A clock set back stretches the grace by at
   * most one grace, never more, as the lease holder's own restore does for the lifetime.
   */
  restored(receivedAtWallMs: number): void {
    const elapsed = Math.max(0, this.o.clock.now() - receivedAtWallMs);
    this.contact(this.o.clock.monotonicMs() - elapsed);
  }

  /** Whether a lease with these claims may be enforced now. */
  allows(claims: Pick<LeaseClaims, 'disconnectGraceSec'>): boolean {
    const grace = claims.disconnectGraceSec;
    if (grace === undefined) return true;
    const since = this.sinceContactMs();
    return since !== undefined && since < grace * 1000;
  }

  /** Milliseconds since the last contact; undefined before the first one. */
  sinceContactMs(): number | undefined {
    return this.lastContactMs === undefined ? undefined : this.o.clock.monotonicMs() - this.lastContactMs;
  }

  /** The lease changed (its grace may have): re-plan the refresh and the cut-off. */
  leaseChanged(): void {
    this.arm();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const grace = this.o.graceSec();
    const since = this.sinceContactMs();
    if (this.closed || grace === undefined || since === undefined) return;
    const graceMs = grace * 1000;
    const refreshAt = graceMs / 2;
    // Timers may fire a fraction of a millisecond early against the monotonic clock: without the
    // marker a refresh firing at 99.6 of 100 ms re-armed a second refresh instead of the cut-off.
    if (since < refreshAt && this.refreshedFor !== this.lastContactMs) {
      this.later(refreshAt - since, () => {
        this.refreshedFor = this.lastContactMs;
        this.o.onRefreshDue?.();
        this.arm();
      });
    } else if (since < graceMs) {
      this.later(graceMs - since, () => this.o.onCutOff?.(this.sinceContactMs() ?? graceMs));
    }
  }

  private later(ms: number, fn: () => void): void {
    this.timer = setTimeout(fn, Math.ceil(ms));
    this.timer.unref?.();
  }
}
