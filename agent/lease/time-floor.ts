import type { Clock } from './clock.js';

/**
 * A lower bound of true time that the device's owner cannot move back: the highest signed `iat`
 * the agent has seen (or the bound saved before a restart), plus the monotonic time elapsed since.
 * True time is at least this, whatever the wall clock says, as long as the controller's clock is right.
 * Leases are judged on `judgedNowMs()`, the later of this bound and the wall clock: a clock set back
 * cannot make an expired lease look alive, and a clock set forward only shortens leases.
 */
export class TimeFloor {
  private baseMs: number;
  private baseMono: number;

  constructor(
    private readonly clock: Pick<Clock, 'now' | 'monotonicMs'>,
    initialMs = 0,
  ) {
    this.baseMs = Math.max(0, initialMs);
    this.baseMono = clock.monotonicMs();
  }

  /** Milliseconds since the epoch that have certainly passed. */
  nowMs(): number {
    return this.baseMs + Math.max(0, this.clock.monotonicMs() - this.baseMono);
  }

  /** What leases are judged by: never earlier than the floor. */
  judgedNowMs(): number {
    return Math.max(this.clock.now(), this.nowMs());
  }

  /** How far the wall clock is behind the floor (0 when it is not): a clock set back, or a dead RTC. */
  wallBehindMs(): number {
    return Math.max(0, this.nowMs() - this.clock.now());
  }

  /** A signed time (a lease's `iat`) proves that true time is at least `ms`. */
  raise(ms: number): void {
    if (ms <= this.nowMs()) return;
    this.baseMs = ms;
    this.baseMono = this.clock.monotonicMs();
  }
}
