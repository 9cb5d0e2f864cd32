import type { Clock } from '../../../agent/lease/clock.js';

/** Wall and monotonic time moved by hand; `setWall` jumps the wall clock only, as an operator would. */
export class FakeClock implements Clock {
  constructor(
    private wallMs = Date.UTC(2026, 10, 28, 12, 0, 0),
    private monoMs = 1_000_000,
  ) {}

  now(): number {
    return this.wallMs;
  }

  monotonicMs(): number {
    return this.monoMs;
  }

  nowSec(): number {
    return Math.floor(this.wallMs / 1000);
  }

  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
  }

  setWall(ms: number): void {
    this.wallMs = ms;
  }
}
