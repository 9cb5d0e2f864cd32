import type { RequestHandler } from 'express';
import { MemoryStore } from 'express-rate-limit';
import { AppError } from '../errors/app-error.js';

/**
 * Counts only failures per client address: a source that keeps failing (bad codes, bad tokens)
 * is refused for the rest of the minute, while a busy but correct client is never throttled.
 * express-rate-limit's own middleware counts every request up front (and un-counts successes
 * later), so a burst of concurrent good requests would trip it; its store is used directly instead.
 */
export function failureLimiter(opts: { perMinute: number; failedStatuses: readonly number[]; what: string }): RequestHandler {
  const windowMs = 60_000;
  const store = new MemoryStore();
  store.init({ windowMs } as Parameters<MemoryStore['init']>[0]);
  return (req, res, next) => {
    const key = req.ip ?? 'unknown';
    store
      .get(key)
      .then((info) => {
        if (info && info.totalHits >= opts.perMinute) {
          const retry = Math.max(1, Math.ceil(((info.resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
          res.setHeader('Retry-After', String(retry));
          return next(new AppError('rate-limited', `too many failed ${opts.what} from this address; try again in ${retry} s`));
        }
        res.on('finish', () => {
          if (opts.failedStatuses.includes(res.statusCode)) void store.increment(key);
        });
        next();
      })
      .catch(next);
  };
}
