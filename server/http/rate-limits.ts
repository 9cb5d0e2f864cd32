import type { RequestHandler } from 'express';
import { MemoryStore, type Store } from 'express-rate-limit';
import { AppError } from '../errors/app-error.js';

/**
 * Counts only failures per client address: a source that keeps failing (bad codes, bad tokens)
 * is refused for the rest of the minute, while a busy but correct client is never throttled.
 * express-rate-limit's own middleware counts every request up front (and un-counts successes
 * later), so a burst of concurrent good requests would trip it; its store is used directly instead.
 */
export function failureLimiter(opts: { perMinute: number; failedStatuses: readonly number[]; what: string; store?: Store }): RequestHandler {
  const windowMs = 60_000;
  // Several replicas share one store (PgRateLimitStore); alone, memory does.
  const store = opts.store ?? new MemoryStore();
  void store.init?.({ windowMs } as Parameters<NonNullable<Store['init']>>[0]);
  return (req, res, next) => {
    const key = req.ip ?? 'unknown';
    Promise.resolve(store.get?.(key))
      .then((info) => {
        if (info && info.totalHits >= opts.perMinute) {
          const retry = Math.max(1, Math.ceil(((info.resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
          res.setHeader('Retry-After', String(retry));
          return next(new AppError('rate-limited', `too many failed ${opts.what} from this address; try again in ${retry} s`));
        }
        res.on('finish', () => {
          if (opts.failedStatuses.includes(res.statusCode)) void Promise.resolve(store.increment(key)).catch(() => undefined);
        });
        next();
      })
      .catch(next);
  };
}
