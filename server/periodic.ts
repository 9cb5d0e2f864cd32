import type { Logger } from './logger.js';

/**
 * Runs `tick` every `intervalMs`, never two at once (a slow tick skips the intervals it overlaps),
 * logging a failure and trying again at the next interval. `stop` waits for a tick in progress.
 */
export function startPeriodic(intervalMs: number, tick: () => Promise<void>, logger: Pick<Logger, 'warn'>, what: string): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const guarded = async () => {
    try {
      await tick();
    } catch (err) {
      logger.warn({ err }, `${what} failed; retrying next interval`);
    }
  };
  const timer = setInterval(() => {
    if (!running) running = guarded().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
