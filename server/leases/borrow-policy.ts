import { POINT_KINDS } from '../../shared/protocol/limits.js';
import { AppError } from '../errors/app-error.js';
import type { Points } from './lease-accounting.js';

export interface BorrowCaps {
  /** The longest borrow in seconds; 0: borrowing is off. */
  readonly maxSec: number;
  /** The share of the pool's capacity borrowed at once. */
  readonly maxFraction: number;
  readonly perGateway: number;
  readonly capacity: Points;
}

export interface BorrowAsk {
  readonly durationSec: number;
  /** What the gateway holds now: the points its borrow keeps. */
  readonly points: Points;
  /** Live borrows of this gateway. */
  readonly gatewayBorrows: number;
  /** Points borrowed in the pool now (each borrowing gateway's largest live borrow), this gateway's excluded. */
  readonly poolBorrowed: Points;
}

/**
 * Why a borrow is refused, if it is (pure; issue 21). A borrow takes no new points, so the
 * invariant does not depend on these caps: they bound how much of the pool can sit on gateways
 * nobody can reach, and for how long.
 */
export function borrowRefusal(caps: BorrowCaps, ask: BorrowAsk): AppError | undefined {
  if (caps.maxSec === 0) return new AppError('forbidden', 'borrowing is off in this pool (its borrowMaxSec is 0)');
  if (ask.durationSec > caps.maxSec) {
    return new AppError('validation-failed', `durationSec ${ask.durationSec} exceeds the pool's longest borrow (${caps.maxSec} s)`, { errors: [{ path: 'body.durationSec', message: `at most ${caps.maxSec}` }] });
  }
  if (ask.gatewayBorrows >= caps.perGateway) return new AppError('conflict', `the gateway already has ${ask.gatewayBorrows} live borrow(s); the pool allows ${caps.perGateway}`);
  for (const k of POINT_KINDS) {
    const most = Math.floor(caps.capacity[k] * caps.maxFraction + 1e-9);
    if (ask.poolBorrowed[k] + ask.points[k] > most) {
      return new AppError('conflict', `the pool caps borrowed ${k} at ${most} (${caps.maxFraction} × capacity); ${ask.poolBorrowed[k]} are borrowed, this borrow keeps ${ask.points[k]}`, { kind: k, borrowed: ask.poolBorrowed[k], most });
    }
  }
  return undefined;
}
