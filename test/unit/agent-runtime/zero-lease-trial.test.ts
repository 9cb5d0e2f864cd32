import { describe, expect, it } from 'vitest';
import { LeaseHolder } from '../../../agent/lease/lease-holder.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { leaseClaims } from '../signing/lease-fixtures.js';
import { FakeClock } from '../agent/fake-clock.js';

/** NeuronEX: ECP assigning 0 tags removes the virtual license and the gateway returns to its free default. */
describe('a valid lease that grants nothing is no floating license', () => {
  const holderWith = (points: { tags: number; connections: number }, plugins: string[]) => {
    const clock = new FakeClock();
    const holder = new LeaseHolder({ clock });
    holder.accept('jws', leaseClaims(clock.nowSec(), { points, plugins }));
    return holder;
  };

  it('0 tags, 0 connections, no plugins: TRIAL with the trial allowance, though the lease is valid', () => {
    const holder = holderWith({ tags: 0, connections: 0 }, []);
    expect(holder.current()).toBeDefined();
    expect(holder.secondsLeft()).toBe(300);
    expect(holder.licenseType()).toBe('TRIAL');
    expect(holder.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
  });

  it.each([
    [{ tags: 0, connections: 1 }, []],
    [{ tags: 1, connections: 0 }, []],
    [{ tags: 0, connections: 0 }, ['OPC UA']],
  ])('anything granted (%o, %o) is a floating license with exactly those limits', (points, plugins) => {
    const holder = holderWith(points, plugins);
    expect(holder.licenseType()).toBe('FLOATING');
    expect(holder.effectiveLimits()).toEqual({ ...points, plugins });
  });
});
