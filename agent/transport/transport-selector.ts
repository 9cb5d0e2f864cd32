import type { Logger } from '../logger.js';
import type { AgentTransport } from './agent-transport.js';

export type SelectableTransport = Pick<AgentTransport, 'name' | 'start' | 'close' | 'retryNow'>;

export interface TransportSelectorOptions<T extends SelectableTransport> {
  /** In order of preference: the first is primary, the rest fallbacks. */
  readonly transports: readonly T[];
  /** How long the preferred transport may be down before the next one is started. */
  readonly failoverAfterMs: number;
  /** The transport that now carries requests (hello is due on it). */
  readonly onActivate: (t: T) => void;
  readonly onDeactivate?: (t: T) => void;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

/**
 * Exactly one transport is active at a time. The primary always runs (reconnecting in the
 * background); a fallback is started only after the primary has been down for `failoverAfterMs`,
 * and closed again as soon as the primary is back. One live transport keeps the controller's
 * presence and seq accounting simple: two would say hello twice and flip presence per transport.
 */
export class TransportSelector<T extends SelectableTransport> {
  private current: T | undefined;
  private readonly started = new Set<T>();
  private readonly upSet = new Set<T>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: TransportSelectorOptions<T>) {}

  start(): void {
    const primary = this.o.transports[0];
    if (!primary) throw new RangeError('at least one transport is needed');
    this.launch(primary);
    this.armFailover();
  }

  active(): T | undefined {
    return this.current;
  }

  /** Transports that have been started and not closed (for tests and status). */
  running(): T[] {
    return this.o.transports.filter((t) => this.started.has(t));
  }

  /** The controller is reachable: every started transport that is not up tries now instead of after its backoff. */
  retryNow(): void {
    if (this.stopped) return;
    for (const t of this.started) if (!this.upSet.has(t)) t.retryNow();
  }

  up(t: T): void {
    if (this.stopped || !this.started.has(t)) return;
    this.upSet.add(t);
    if (this.current && this.rank(this.current) <= this.rank(t)) return;
    const previous = this.current;
    this.current = t;
    if (previous) this.o.onDeactivate?.(previous);
    // A better transport is up: the worse ones are no longer needed.
    for (const other of this.o.transports.slice(this.rank(t) + 1)) if (this.started.has(other)) this.shutDown(other);
    if (this.rank(t) === 0) this.disarm();
    else this.armFailover();
    if (previous) this.o.logger.info({ from: previous.name, to: t.name }, 'switched transport');
    this.o.onActivate(t);
  }

  down(t: T): void {
    this.upSet.delete(t);
    if (this.stopped || t !== this.current) return;
    this.current = undefined;
    this.o.onDeactivate?.(t);
    const next = this.o.transports.find((c) => this.upSet.has(c));
    if (next) this.up(next);
    this.armFailover();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.disarm();
    this.current = undefined;
    const running = [...this.started];
    this.started.clear();
    this.upSet.clear();
    await Promise.all(running.map((t) => t.close().catch((err: unknown) => this.o.logger.warn({ err, transport: t.name }, 'could not close a transport'))));
  }

  private rank(t: T): number {
    return this.o.transports.indexOf(t);
  }

  private launch(t: T): void {
    this.started.add(t);
    t.start();
  }

  private shutDown(t: T): void {
    this.started.delete(t);
    this.upSet.delete(t);
    void t.close().catch((err: unknown) => this.o.logger.warn({ err, transport: t.name }, 'could not close a transport'));
  }

  /** While the primary is not active, start the next unstarted transport after each quiet period. */
  private armFailover(): void {
    if (this.timer || this.stopped || this.o.transports.every((t) => this.started.has(t))) return;
    if (this.current && this.rank(this.current) === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped || (this.current && this.rank(this.current) === 0)) return;
      const next = this.o.transports.find((t) => !this.started.has(t));
      if (!next) return;
      const best = this.current ?? this.o.transports[0]!;
      if (this.current && this.rank(next) > this.rank(this.current)) return;
      this.o.logger.warn({ unavailable: best.name, fallback: next.name, afterMs: this.o.failoverAfterMs }, 'preferred transport unavailable; starting the fallback');
      this.launch(next);
      this.armFailover();
    }, this.o.failoverAfterMs);
    this.timer.unref?.();
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
