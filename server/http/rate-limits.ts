import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { MemoryStore, type Store } from 'express-rate-limit';
import { AppError } from '../errors/app-error.js';

const WINDOW_MS = 60_000;

/** One attempt, counted before it runs; `settle` says how it ended (a success is un-counted). */
export interface Attempt {
  readonly over: boolean;
  readonly retryAfterSec: number;
  settle(failed: boolean): void;
}

/**
 * Failures per client address in a one-minute window. Every attempt counts from the moment it
 * arrives (so a concurrent burst cannot overshoot the limit) and is un-counted once it succeeds.
 * The store is express-rate-limit's Store interface, so replicas can share one (see the
 * PostgreSQL store); the default is in memory.
 */
export class FailureCounter {
  private readonly store: Store;

  constructor(private readonly opts: { perMinute: number; prefix: string; store?: Store }) {
    this.store = opts.store ?? new MemoryStore();
    void this.store.init?.({ windowMs: WINDOW_MS } as Parameters<NonNullable<Store['init']>>[0]);
  }

  async begin(address: string): Promise<Attempt> {
    const key = `${this.opts.prefix}:${address}`;
    const counted = await this.count(key);
    let settled = false;
    return {
      ...counted,
      settle: (failed) => {
        if (settled) return;
        settled = true;
        if (!failed) void Promise.resolve(this.store.decrement(key)).catch(() => undefined);
      },
    };
  }

  /** A failure already known (nothing to un-count): is the address now over its limit? */
  failed(address: string): Promise<Pick<Attempt, 'over' | 'retryAfterSec'>> {
    return this.count(`${this.opts.prefix}:${address}`);
  }

  private async count(key: string): Promise<Pick<Attempt, 'over' | 'retryAfterSec'>> {
    const info = await this.store.increment(key);
    const resetMs = info.resetTime ? info.resetTime.getTime() - Date.now() : WINDOW_MS;
    return { over: info.totalHits > this.opts.perMinute, retryAfterSec: Math.max(1, Math.ceil(resetMs / 1000)) };
  }
}

function refuse(res: Response, attempt: Pick<Attempt, 'retryAfterSec'>, what: string): AppError {
  res.setHeader('Retry-After', String(attempt.retryAfterSec));
  return new AppError('rate-limited', `too many failed ${what} from this address; try again in ${attempt.retryAfterSec} s`);
}

/**
 * For attempts that are guesses of a secret with no other proof (activation codes): an address
 * over its limit is refused before the handler runs. The refusal itself is not counted.
 */
export function failureLimiter(opts: { perMinute: number; failedStatuses: readonly number[]; what: string; store?: Store }): RequestHandler {
  const counter = new FailureCounter({ perMinute: opts.perMinute, prefix: opts.what, ...(opts.store ? { store: opts.store } : {}) });
  return (req, res, next) => {
    counter
      .begin(req.ip ?? 'unknown')
      .then((attempt) => {
        if (attempt.over) {
          attempt.settle(false);
          return next(refuse(res, attempt, opts.what));
        }
        res.on('close', () => attempt.settle(opts.failedStatuses.includes(res.statusCode) || !res.writableFinished));
        next();
      })
      .catch(next);
  };
}

/**
 * For authenticated routes: only a failed authentication is counted, when it fails, so a valid
 * credential never touches the store (at 10,000 gateways the console's every request would
 * otherwise write the counter twice) and is never refused, whatever someone else behind the same
 * address did. Each failure's increment is atomic, so a concurrent burst of bad tokens gets exactly
 * the limit of 401s and 429 after. An error handler, mounted behind the routes.
 */
export function authFailureLimiter(opts: { perMinute: number; store?: Store }): ErrorRequestHandler {
  const counter = new FailureCounter({ perMinute: opts.perMinute, prefix: 'auth', ...(opts.store ? { store: opts.store } : {}) });
  return (err, req, res, next) => {
    if (!(err instanceof AppError && err.problem === 'unauthorized')) return next(err);
    counter
      .failed(req.ip ?? 'unknown')
      .then((attempt) => next(attempt.over ? refuse(res, attempt, 'authentications') : err))
      .catch(next);
  };
}

/**
 * The same failure limit for logins that are not HTTP requests (MQTT CONNECT, Socket.IO
 * handshake). As on HTTP, a valid login is never refused; over the limit a failed one is answered
 * only after `tarpitMs`, so a source cannot try passwords at full speed.
 */
export async function limitedLogin<T>(
  counter: FailureCounter | undefined,
  address: string,
  login: () => Promise<T | undefined | null>,
  tarpitMs = 1_000,
): Promise<T | undefined> {
  if (!counter) return (await login()) ?? undefined;
  const attempt = await counter.begin(address);
  try {
    const r = (await login()) ?? undefined;
    attempt.settle(r === undefined);
    if (r === undefined && attempt.over) await new Promise((resolve) => setTimeout(resolve, tarpitMs));
    return r;
  } catch (err) {
    attempt.settle(false);
    throw err;
  }
}
