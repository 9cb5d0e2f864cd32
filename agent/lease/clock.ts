/** Injected everywhere time matters, so tests can move the wall clock and the monotonic clock apart. */
export interface Clock {
  /** Wall-clock time in milliseconds since the epoch; may jump (NTP, an operator, a dead RTC battery). */
  now(): number;
  /**
   * Milliseconds on a clock that never goes backwards and nobody can set: CLOCK_MONOTONIC, which on
   * Linux counts from boot, so it also runs on while the agent is stopped (compare only within one boot).
   */
  monotonicMs(): number;
}

export function systemClock(): Clock {
  return { now: () => Date.now(), monotonicMs: () => Number(process.hrtime.bigint() / 1_000_000n) };
}
