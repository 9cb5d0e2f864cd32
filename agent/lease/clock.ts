import { performance } from 'node:perf_hooks';

/** Injected everywhere time matters, so tests can move the wall clock and the monotonic clock apart. */
export interface Clock {
  /** Wall-clock time in milliseconds since the epoch; may jump (NTP, an operator, a dead RTC battery). */
  now(): number;
  /** Milliseconds on a clock that never goes backwards; restarts with the process. */
  monotonicMs(): number;
}

export function systemClock(): Clock {
  return { now: () => Date.now(), monotonicMs: () => performance.now() };
}
