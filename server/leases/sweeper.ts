import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { reviewOverCommitment } from '../pools/pool-service.js';
import type { Services } from '../services.js';

/**
 * Ends expired leases and clears over-commitment that resolved. Several replicas may run it at
 * once: expiry uses SKIP LOCKED and pool reviews lock their pool row.
 */
export function startSweeper(intervalMs: number, db: Db, s: Pick<Services, 'leases'>, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const tick = async () => {
    try {
      const expired = await s.leases.sweep();
      const cleared = await reviewOverCommitment(db);
      if (expired || cleared.length) logger.debug({ expired, cleared }, 'sweep');
    } catch (err) {
      logger.warn({ err }, 'sweep failed; retrying next interval');
    }
  };
  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
