import { startPeriodic } from '../periodic.js';
import type { Logger } from '../logger.js';
import type { ElasticService } from './elastic-service.js';

/**
 * Runs the elastic tick periodically (resizes, pending timeouts, pre-emption). Several replicas may
 * run it: each pool's review locks its pool row, and the cooldown stored on the gateway row keeps
 * two replicas from resizing one gateway twice.
 */
export function startElasticResizer(opts: { intervalMs: number }, elastic: Pick<ElasticService, 'tick'>, logger: Logger): { stop(): Promise<void> } {
  return startPeriodic(opts.intervalMs, async () => {
    const r = await elastic.tick();
    if (r.resized || r.preempted || r.timedOut) logger.info(r, 'elastic tick');
  }, logger, 'elastic tick');
}
