import { describe, expect, it } from 'vitest';
import { LeaseHolder } from '../../../agent/lease/lease-holder.js';
import { TimeFloor } from '../../../agent/lease/time-floor.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { leaseClaims } from '../signing/lease-fixtures.js';
import { FakeClock } from './fake-clock.js';

const MIN = 60_000;

function held(ttl = 300, seq = 1) {
  const clock = new FakeClock();
  const holder = new LeaseHolder({ clock });
  const claims = leaseClaims(clock.nowSec(), { ttl, exp: clock.nowSec() + ttl, seq });
  holder.accept('jws-1', claims);
  return { clock, holder, claims };
}

describe('LeaseHolder', () => {
  it('enforces the lease points and plugins while valid', () => {
    const { holder, claims } = held();
    expect(holder.effectiveLimits()).toEqual({ tags: 500, connections: 8, plugins: ['modbus-tcp', 'opcua'] });
    expect(holder.licenseType()).toBe('FLOATING');
    expect(holder.secondsLeft()).toBe(300);
    expect(holder.current()?.claims).toEqual(claims);
  });

  it('falls back to the trial allowance once the lease has expired', () => {
    const { clock, holder } = held();
    clock.advance(299_999);
    expect(holder.effectiveLimits().tags).toBe(500);
    clock.advance(1);
    expect(holder.secondsLeft()).toBe(0);
    expect(holder.current()).toBeUndefined();
    expect(holder.lastAccepted()?.jws).toBe('jws-1');
    expect(holder.effectiveLimits()).toEqual(TRIAL_ALLOWANCE);
    expect(holder.effectiveLimits()).toEqual({ tags: 30, connections: 30, plugins: ['*'] }) // NeuronEX's free allowance: every plugin but CNC;
    expect(holder.licenseType()).toBe('TRIAL');
  });

  it('runs on the trial allowance with no lease at all, and wants a renewal now', () => {
    const holder = new LeaseHolder({ clock: new FakeClock() });
    expect(holder.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    expect(holder.renewDueInMs()).toBe(0);
  });

  it('setting the wall clock back 10 minutes does not extend the lease', () => {
    const { clock, holder } = held();
    clock.advance(MIN);
    clock.setWall(clock.now() - 10 * MIN);
    expect(holder.secondsLeft()).toBe(240);
    clock.advance(240_000);
    expect(holder.secondsLeft()).toBe(0);
    expect(holder.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
  });

  it('setting the wall clock forward ends the lease early (whichever clock ends first)', () => {
    const { clock, holder } = held();
    clock.setWall(clock.now() + 200_000);
    expect(holder.secondsLeft()).toBe(100);
    clock.setWall(clock.now() + 100_000);
    expect(holder.current()).toBeUndefined();
  });

  it('asks for renewal after a third of the lifetime', () => {
    const { clock, holder } = held(300);
    expect(holder.renewDueInMs()).toBe(100_000);
    clock.advance(40_000);
    expect(holder.renewDueInMs()).toBe(60_000);
    clock.advance(70_000);
    expect(holder.renewDueInMs()).toBe(0);
  });

  it('a renewal replaces the lease and restarts the lifetime', () => {
    const { clock, holder } = held(300, 1);
    clock.advance(100_000);
    holder.accept('jws-2', leaseClaims(clock.nowSec(), { seq: 2, points: { tags: 50, connections: 2 }, plugins: [] }));
    expect(holder.secondsLeft()).toBe(300);
    expect(holder.effectiveLimits()).toEqual({ tags: 50, connections: 2, plugins: [] });
    expect(holder.lastAcceptedSeq()).toBe(2);
  });

  it('refuses to take a lease whose seq is not newer (a bug upstream, not a silent downgrade)', () => {
    const { clock, holder } = held(300, 5);
    expect(() => holder.accept('old', leaseClaims(clock.nowSec(), { seq: 5 }))).toThrow(RangeError);
    expect(new LeaseHolder({ clock, lastAcceptedSeq: 9 }).lastAcceptedSeq()).toBe(9);
  });

  it('clear() drops the lease but keeps the seq high-water mark', () => {
    const { holder } = held(300, 3);
    holder.clear();
    expect(holder.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    expect(holder.lastAcceptedSeq()).toBe(3);
  });

  describe('restore after a restart (monotonic clock starts over)', () => {
    it('keeps what is left by the wall clock', () => {
      const clock = new FakeClock();
      const claims = leaseClaims(clock.nowSec(), { seq: 4 });
      const receivedAt = clock.now();
      const booted = new FakeClock(clock.now() + 2 * MIN, 5);
      const holder = new LeaseHolder({ clock: booted });
      expect(holder.restore({ jws: 'j', claims, receivedAt })).toBe(true);
      expect(holder.secondsLeft()).toBe(180);
      expect(holder.lastAcceptedSeq()).toBe(4);
      booted.advance(180_000);
      expect(holder.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    });

    it('never grants more than ttl, even with the wall clock set back across the restart', () => {
      const clock = new FakeClock();
      const claims = leaseClaims(clock.nowSec());
      const booted = new FakeClock(clock.now() - 60 * MIN, 5);
      const holder = new LeaseHolder({ clock: booted });
      holder.restore({ jws: 'j', claims, receivedAt: clock.now() });
      expect(holder.secondsLeft()).toBe(300);
      booted.advance(300_000);
      expect(holder.current()).toBeUndefined();
    });

    it('a lease that ran out while the agent was down is not valid', () => {
      const clock = new FakeClock();
      const claims = leaseClaims(clock.nowSec());
      const holder = new LeaseHolder({ clock: new FakeClock(clock.now() + 6 * MIN, 5) });
      expect(holder.restore({ jws: 'j', claims, receivedAt: clock.now() })).toBe(false);
      expect(holder.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    });

    it('iat + ttl bounds a lease whose exp lies further out', () => {
      const clock = new FakeClock();
      const claims = leaseClaims(clock.nowSec(), { exp: clock.nowSec() + 3600, ttl: 300 });
      const holder = new LeaseHolder({ clock: new FakeClock(clock.now() + 100_000, 5) });
      holder.restore({ jws: 'j', claims, receivedAt: clock.now() });
      expect(holder.secondsLeft()).toBe(200);
    });
  });

  describe('time floor: the highest signed iat plus monotonic time since (issue 16)', () => {
    it('restart with the clock set back to the acceptance time: only what was left at the last save remains', () => {
      const clock = new FakeClock();
      const claims = leaseClaims(clock.nowSec(), { ttl: 60, exp: clock.nowSec() + 60 });
      const first = new LeaseHolder({ clock });
      first.accept('j', claims);
      clock.advance(40_000);
      const saved = first.floor.nowMs();
      // SIGKILL, clock set back to the acceptance time, restart: the wall clock says 60 s are left.
      const booted = new FakeClock(claims.iat * 1000, 5);
      const holder = new LeaseHolder({ clock: booted, floor: new TimeFloor(booted, saved) });
      expect(holder.restore({ jws: 'j', claims, receivedAt: claims.iat * 1000 })).toBe(true);
      expect(holder.secondsLeft()).toBe(20);
      booted.advance(20_000);
      expect(holder.licenseType()).toBe('TRIAL');
    });

    it('a genuine lease replayed after its expiry with the clock set back to its iat is dead on arrival', () => {
      const clock = new FakeClock();
      const holder = new LeaseHolder({ clock, clockSkewSec: 30 });
      const recorded = leaseClaims(clock.nowSec(), { ttl: 60, exp: clock.nowSec() + 60, seq: 2 });
      holder.accept('j1', leaseClaims(clock.nowSec(), { ttl: 60, exp: clock.nowSec() + 60, seq: 1 }));
      clock.advance(200_000);
      clock.setWall(recorded.iat * 1000);
      holder.accept('j2', recorded);
      expect(holder.msLeft()).toBe(0);
      expect(holder.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    });

    it('table: renewal is due a third of the lifetime after receipt (monotonic), whatever the wall clock', () => {
      const rows = [
        { wallOffsetMs: 0, ttl: 60, dueMs: 20_000 },
        { wallOffsetMs: 25_000, ttl: 60, dueMs: 20_000 },
        { wallOffsetMs: -25_000, ttl: 60, dueMs: 20_000 },
        { wallOffsetMs: 25_000, ttl: 15, dueMs: 5_000 },
      ];
      for (const { wallOffsetMs, ttl, dueMs } of rows) {
        const clock = new FakeClock();
        const iat = clock.nowSec();
        clock.setWall(clock.now() + wallOffsetMs);
        const holder = new LeaseHolder({ clock, clockSkewSec: 30 });
        holder.accept('j', leaseClaims(iat, { ttl, exp: iat + ttl }));
        expect(holder.renewDueInMs(), JSON.stringify({ wallOffsetMs, ttl })).toBe(dueMs);
        expect(holder.licenseType()).toBe('FLOATING');
      }
    });
  });
});
