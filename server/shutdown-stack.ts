import type { Logger } from './logger.js';

/** Closers run last-started-first; a failing closer is logged and the rest still run. */
export class ShutdownStack {
  private readonly closers: { name: string; close: () => Promise<void> | void }[] = [];

  constructor(private readonly logger: Logger) {}

  push(name: string, close: () => Promise<void> | void): void {
    this.closers.push({ name, close });
  }

  async closeAll(): Promise<void> {
    while (this.closers.length > 0) {
      const { name, close } = this.closers.pop()!;
      try {
        await close();
        this.logger.debug({ component: name }, 'stopped');
      } catch (err) {
        this.logger.warn({ err, component: name }, 'error while stopping');
      }
    }
  }
}
