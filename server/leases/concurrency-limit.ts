/**
 * At most `limit` tasks run at once; the rest wait in arrival order. Agents' messages go through
 * one of these so a storm queues in memory instead of in front of the database pool, where it
 * would delay everything else (administrators' changes, pushes, MQTT authentication).
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive whole number');
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task, so `running` stays at the limit.
      if (next) next();
      else this.running -= 1;
    }
  }
}
