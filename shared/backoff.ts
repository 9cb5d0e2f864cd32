export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * Capped exponential backoff with "full jitter": a uniform delay in [base/2, min(max, base*2^attempt)].
 * The jitter spreads a fleet's reconnects after a controller or broker restart.
 */
export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const floor = Math.min(ceiling, opts.baseMs / 2);
  return Math.round(floor + random() * (ceiling - floor));
}
