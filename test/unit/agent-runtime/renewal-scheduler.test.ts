import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseHolder } from '../../../agent/lease/lease-holder.js';
import { RenewalScheduler } from '../../../agent/lease/renewal-scheduler.js';
import { backoffDelayMs } from '../../../shared/backoff.js';
import { leaseClaims } from '../signing/lease-fixtures.js';
import { fakeTimerClock } from './fakes.js';

let seq = 0;
function setup(opts: { ttl: number; fail?: () => boolean; backoff?: { baseMs: number; maxMs: number }; random?: () => number }) {
  const clock = fakeTimerClock();
  const holder = new LeaseHolder({ clock });
  const t0 = Date.now();
  const give = () => {
    const now = Math.floor(clock.now() / 1000);
    holder.accept(`jws-${seq}`, leaseClaims(now, { seq: ++seq, ttl: opts.ttl, exp: now + opts.ttl }));
  };
  const requests: number[] = [];
  const attempts: { renewed: boolean; nextInMs: number }[] = [];
  const scheduler = new RenewalScheduler({
    holder,
    backoff: opts.backoff ?? { baseMs: 1_000, maxMs: 60_000 },
    random: opts.random ?? (() => 1),
    request: async () => {
      requests.push(Date.now() - t0);
      if (opts.fail?.()) throw new Error('no answer');
      give();
    },
    onAttempt: (a) => attempts.push({ renewed: a.renewed, nextInMs: a.nextInMs }),
  });
  return { holder, scheduler, requests, attempts, give };
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 10, 28, 12) });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RenewalScheduler', () => {
  it('renews once a third of the lifetime has passed, then every third again', async () => {
    const { scheduler, requests, give } = setup({ ttl: 300 });
    give();
    scheduler.start();
    await vi.advanceTimersByTimeAsync(99_999);
    expect(requests).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toEqual([100_000]);
    await vi.advanceTimersByTimeAsync(200_000);
    expect(requests).toEqual([100_000, 200_000, 300_000]);
    scheduler.stop();
  });

  it('retries a failed renewal with capped exponential backoff with jitter', async () => {
    let failing = true;
    const { scheduler, requests, attempts, give, holder } = setup({ ttl: 3_600, fail: () => failing, backoff: { baseMs: 1_000, maxMs: 8_000 } });
    give();
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1_200_000 + 40_000);
    const gaps = requests.slice(1).map((t, i) => t - requests[i]!);
    // random() = 1 takes each ceiling: 1, 2, 4, 8 s, then capped at 8 s.
    expect(gaps.slice(0, 6)).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    expect(attempts.every((a) => !a.renewed)).toBe(true);
    // A success resets the backoff and goes back to the lease's own schedule.
    failing = false;
    const before = holder.lastAcceptedSeq();
    await vi.advanceTimersByTimeAsync(8_000);
    expect(holder.lastAcceptedSeq()).toBe(before + 1);
    expect(attempts.at(-1)).toEqual({ renewed: true, nextInMs: 1_200_000 });
    scheduler.stop();
  });

  it('the jitter spreads retries between half the base and the ceiling', () => {
    const opts = { baseMs: 1_000, maxMs: 60_000 };
    expect(backoffDelayMs(3, opts, () => 0)).toBe(500);
    expect(backoffDelayMs(3, opts, () => 1)).toBe(8_000);
    expect(backoffDelayMs(30, opts, () => 1)).toBe(60_000);
  });

  it('never schedules a retry past the expiry of the lease it tries to keep', async () => {
    const { scheduler, requests, holder, give } = setup({ ttl: 30, fail: () => true, backoff: { baseMs: 8_000, maxMs: 60_000 } });
    give();
    const expiresAt = holder.msLeft();
    scheduler.start();
    await vi.advanceTimersByTimeAsync(expiresAt - 1);
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests.every((t) => t < expiresAt)).toBe(true);
    expect(requests[0]).toBe(10_000);
    // After expiry, plain backoff (the agent keeps asking, on the trial allowance).
    await vi.advanceTimersByTimeAsync(300_000);
    expect(holder.current()).toBeUndefined();
    expect(requests.filter((t) => t > expiresAt).length).toBeGreaterThan(0);
    scheduler.stop();
  });

  it('a pushed lease reschedules from it; requestNow asks at once', async () => {
    const { scheduler, requests, give } = setup({ ttl: 300 });
    give();
    scheduler.start();
    await vi.advanceTimersByTimeAsync(90_000);
    give(); // pushed: renewal is now due 100 s from here
    scheduler.leaseAccepted();
    await vi.advanceTimersByTimeAsync(99_000);
    expect(requests).toEqual([]);
    scheduler.requestNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toEqual([189_000]);
    scheduler.stop();
    await vi.advanceTimersByTimeAsync(1_000_000);
    expect(requests).toEqual([189_000]);
  });

  it('a requestNow during a request goes out after it, even if a lease is accepted in between', async () => {
    // The same run in the e2e: MQTT came up (requestNow) while the HTTP lease request was still
    // acknowledging; the borrow accepted right after it had moved the hello an hour away.
    const clock = fakeTimerClock();
    const holder = new LeaseHolder({ clock });
    const now = () => Math.floor(clock.now() / 1000);
    const give = () => holder.accept(`jws-${seq}`, leaseClaims(now(), { seq: ++seq, ttl: 3_600, exp: now() + 3_600 }));
    let finish!: () => void;
    const requests: number[] = [];
    const scheduler = new RenewalScheduler({
      holder,
      backoff: { baseMs: 1_000, maxMs: 60_000 },
      request: async () => {
        requests.push(Date.now());
        await new Promise<void>((r) => (finish = r));
        give();
      },
    });
    give();
    scheduler.start(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toHaveLength(1);
    scheduler.requestNow();
    finish();
    await vi.advanceTimersByTimeAsync(0);
    give();
    scheduler.leaseAccepted();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(requests).toHaveLength(2);
    finish();
    scheduler.stop();
  });

  it('a lease accepted while a requestNow waits for its turn does not put the request off', async () => {
    // CI 2026-12-02 (agent-borrow e2e): MQTT came back and asked for its hello; a borrow answered over
    // HTTP a moment later moved the request to the borrow's renewal, an hour away, so the agent never
    // said hello and the controller never saw it online.
    const { scheduler, requests, give } = setup({ ttl: 3_600 });
    give();
    scheduler.start();
    scheduler.requestNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toEqual([0]);
    scheduler.requestNow(); // within the minimum gap (1 s) of the last request: waits for its turn
    await vi.advanceTimersByTimeAsync(500);
    give();
    scheduler.leaseAccepted();
    await vi.advanceTimersByTimeAsync(500);
    expect(requests).toHaveLength(2); // at the end of the gap, not at the renewal 20 min on
    expect(requests[1]).toBeLessThanOrEqual(1_000);
    // Without an ask pending, an accepted lease moves the next request to its renewal as before.
    give();
    scheduler.leaseAccepted();
    await vi.advanceTimersByTimeAsync(1_199_000);
    expect(requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(requests).toHaveLength(3);
    scheduler.stop();
  });
});
