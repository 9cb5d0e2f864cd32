/**
 * Callers waiting for a queue to run dry (tests, shutdown): `wait()` answers at once when the queue
 * is idle, else at the first `check()` after its work that finds it idle.
 */
export class IdleWaiters {
  private waiters: (() => void)[] = [];

  constructor(private readonly isIdle: () => boolean) {}

  wait(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Call when work settled: wakes every waiter if nothing is left. */
  check(): void {
    if (!this.isIdle()) return;
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }
}
