import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError } from '../errors/app-error.js';

/**
 * Counts only failures per client address: a source that keeps failing (bad codes, bad tokens)
 * is slowed down, while a fleet enrolling correctly is never throttled.
 */
export function failureLimiter(opts: { perMinute: number; failedStatuses: readonly number[]; what: string }): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: opts.perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => !opts.failedStatuses.includes(res.statusCode),
    handler: (_req, _res, next) => next(new AppError('rate-limited', `too many failed ${opts.what} from this address; try again in a minute`)),
  });
}
