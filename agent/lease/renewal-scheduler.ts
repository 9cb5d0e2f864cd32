import { performance } from 'node:perf_hooks';
import { backoffDelayMs, type BackoffOptions } from '../../shared/backoff.js';
import type { LeaseHolder } from './lease-holder.js';

export interface RenewalSchedulerOptions {
  readonly holder: Pick<LeaseHolder, 'renewDueInMs' | 'msLeft' | 'lastAcceptedSeq' | 'current'> & Partial<Pick<LeaseHolder, 'borrowed'>>;
  /** Asks the controller for a fresh lease (hello or renew); resolves once the answer was handled. */
  readonly request: () => Promise<void>;
  readonly backoff: BackoffOptions;
  readonly random?: () => number;
  /** Never wait less than this between attempts. */
  readonly minDelayMs?: number;
  /**
   * Never start two requests closer than this (monotonic), whatever asks for them: pushes, transports
   * coming up, a lease that arrives with little lifetime left. Default 1 s.
   */
  readonly minGapMs?: number;
  /** Monotonic milliseconds (default performance.now); the wall clock is never used for timing. */
  readonly monotonicMs?: () => number;
  /** After every attempt: whether it brought a fresher lease, and when the next one is due. */
  readonly onAttempt?: (result: { renewed: boolean; error: unknown; attempt: number; nextInMs: number }) => void;
}

/**
 * Renews once a third of the lease's lifetime has passed. An attempt succeeds only when a fresher
 * lease was accepted; otherwise it is retried with capped, jittered exponential backoff, each retry
 * no later than halfway to expiry, so the last attempts crowd in before the lease runs out.
 */
export class RenewalScheduler {
  private timer: NodeJS.Timeout | undefined;
  private dueAt: number | undefined;
  private running = false;
  /**
   * requestNow() was called and no request has started since (one under way then goes again when it
   * ends): a lease arriving meanwhile must not put it off.
   */
  private asked = false;
  private attempt = 0;
  private stopped = true;
  private lastStartMono = Number.NEGATIVE_INFINITY;
  private readonly mono: () => number;

  constructor(private readonly o: RenewalSchedulerOptions) {
    this.mono = o.monotonicMs ?? (() => performance.now());
  }

  /** Starts the loop; the first request goes out after `initialDelayMs` (default: when the held lease is due). */
  start(initialDelayMs?: number): void {
    this.stopped = false;
    this.schedule(initialDelayMs ?? this.o.holder.renewDueInMs());
  }

  /** Ask now: a transport came up, or the controller's state changed. */
  requestNow(): void {
    if (this.stopped) return;
    this.asked = true;
    if (!this.running) this.schedule(0);
  }

  /** A lease arrived by another route (push, HTTP, borrow): count from it, unless a request was asked for. */
  leaseAccepted(): void {
    this.attempt = 0;
    // The ask stands: a transport that just came up must say hello (its presence) whatever lease came
    // meanwhile. Put off to the renewal, a borrow's put it off for the borrow's length (CI 2026-12-02).
    if (!this.stopped && !this.running && !this.asked) this.schedule(this.o.holder.renewDueInMs());
  }

  /** Milliseconds until the next attempt (undefined while one runs or when stopped). */
  nextInMs(): number | undefined {
    return this.dueAt === undefined ? undefined : Math.max(0, this.dueAt - this.mono());
  }

  stop(): void {
    this.stopped = true;
    this.asked = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = undefined;
  }

  private schedule(requestedMs: number): void {
    clearTimeout(this.timer);
    const ms = Math.max(requestedMs, this.lastStartMono + (this.o.minGapMs ?? 1_000) - this.mono());
    this.dueAt = this.mono() + ms;
    this.timer = setTimeout(() => void this.run(), ms);
    this.timer.unref?.();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.dueAt = undefined;
    if (this.stopped || this.running) return;
    this.running = true;
    this.asked = false;
    this.lastStartMono = this.mono();
    const before = this.o.holder.lastAcceptedSeq();
    let error: unknown;
    try {
      await this.o.request();
    } catch (err) {
      error = err;
    }
    this.running = false;
    if (this.stopped) return;
    const renewed = this.o.holder.lastAcceptedSeq() > before && this.o.holder.current() !== undefined;
    let next: number;
    if (renewed) {
      this.attempt = 0;
      next = this.asked ? 0 : this.o.holder.renewDueInMs();
    } else if (this.asked) {
      next = 0;
    } else if (this.o.holder.borrowed?.() && this.o.holder.renewDueInMs() > 0) {
      // A borrow needs no renewal before its last stretch: an attempt without a fresh lease (a
      // reconnect's hello, refused to keep the borrow, or no answer at all) is no loss, and no retry.
      this.attempt = 0;
      next = this.o.holder.renewDueInMs();
    } else {
      this.attempt += 1;
      next = this.retryDelay();
    }
    this.schedule(next);
    this.o.onAttempt?.({ renewed, error, attempt: this.attempt, nextInMs: next });
  }

  private retryDelay(): number {
    const min = this.o.minDelayMs ?? 250;
    let delay = Math.max(min, backoffDelayMs(this.attempt - 1, this.o.backoff, this.o.random));
    const left = this.o.holder.msLeft();
    if (left > 0 && delay >= left) delay = Math.max(min, Math.floor(left / 2));
    return delay;
  }
}
