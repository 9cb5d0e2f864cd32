import { describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../agent/agent.js';
import { ReachabilityGrace } from '../../../agent/lease/reachability-grace.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import type { LeaseClaims } from '../../../shared/protocol/lease-claims.js';
import type { LeaseGrant } from '../../../shared/protocol/rest.js';
import { waitFor } from '../../helpers/ports.js';
import { FakeClock } from '../agent/fake-clock.js';
import { enrolledStore, stoppedAfterEach, testAgent, TestSigner } from './fakes.js';
import { perFile } from '../../helpers/per-file.js';

/** reclaim on-disconnect, the agent's half: the grace counts on the monotonic clock from the last answered request. */
describe('ReachabilityGrace', () => {
  const SEC = 1000;
  const cases: { name: string; grace: number | undefined; contactAgo?: number; restoredAgoWall?: number; allowed: boolean }[] = [
    { name: 'a lease without a grace (on-expiry pool) never depends on contact', grace: undefined, allowed: true },
    { name: 'a grace lease before any contact is not enforced', grace: 30, allowed: false },
    { name: 'contact 29.9 s ago, grace 30 s', grace: 30, contactAgo: 29.9 * SEC, allowed: true },
    { name: 'contact exactly 30 s ago, grace 30 s: cut off', grace: 30, contactAgo: 30 * SEC, allowed: false },
    { name: 'contact 2 min ago, grace 30 s', grace: 30, contactAgo: 120 * SEC, allowed: false },
    { name: 'restored: the stored lease came 10 s ago by the wall clock', grace: 30, restoredAgoWall: 10 * SEC, allowed: true },
    { name: 'restored: the stored lease came 31 s ago by the wall clock', grace: 30, restoredAgoWall: 31 * SEC, allowed: false },
    { name: 'restored with the wall clock set back (receipt in the future): at most one grace', grace: 30, restoredAgoWall: -3_600 * SEC, allowed: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const clock = new FakeClock();
      const g = new ReachabilityGrace({ clock, graceSec: () => undefined });
      if (c.contactAgo !== undefined) {
        g.contact(clock.monotonicMs());
        clock.advance(c.contactAgo);
      }
      if (c.restoredAgoWall !== undefined) g.restored(clock.now() - c.restoredAgoWall);
      expect(g.allows({ disconnectGraceSec: c.grace })).toBe(c.allowed);
    });
  }

  it('a clock set back at restore stretches the grace by one grace at most', () => {
    const clock = new FakeClock();
    const g = new ReachabilityGrace({ clock, graceSec: () => 30 });
    g.restored(clock.now() + 3_600_000);
    clock.advance(29_999);
    expect(g.allows({ disconnectGraceSec: 30 })).toBe(true);
    clock.advance(1);
    expect(g.allows({ disconnectGraceSec: 30 })).toBe(false);
    g.close();
  });

  it('a later contact never moves the mark back', () => {
    const clock = new FakeClock();
    const g = new ReachabilityGrace({ clock, graceSec: () => 30 });
    g.contact(clock.monotonicMs());
    g.contact(clock.monotonicMs() - 20_000); // an older request answered late
    clock.advance(25_000);
    expect(g.allows({ disconnectGraceSec: 30 })).toBe(true);
    g.close();
  });

  it('asks for a fresh lease at half the grace and reports the cut-off at the grace (real timers)', async () => {
    const events: string[] = [];
    const mono = { t: 0 };
    const g = new ReachabilityGrace({
      clock: { now: () => Date.now(), monotonicMs: () => performance.now() + mono.t },
      graceSec: () => 0.2 as number,
      onRefreshDue: () => events.push('refresh'),
      onCutOff: () => events.push('cut-off'),
    });
    g.contact(performance.now());
    await waitFor('refresh, then cut-off', () => events.length === 2, { timeoutMs: 5_000 });
    expect(events).toEqual(['refresh', 'cut-off']);
    g.close();
  });

  it('refreshes once per contact when its timer fires a little early against the monotonic clock', () => {
    // Seen in CI: the refresh timer fired at 99.6 of 100 ms, and a second refresh replaced the cut-off.
    vi.useFakeTimers();
    try {
      const start = Date.now();
      const events: string[] = [];
      const g = new ReachabilityGrace({
        clock: { now: () => Date.now(), monotonicMs: () => (Date.now() - start) * 0.99 },
        graceSec: () => 0.2 as number,
        onRefreshDue: () => events.push('refresh'),
        onCutOff: () => events.push('cut-off'),
      });
      g.contact(0);
      vi.advanceTimersByTime(1_000);
      expect(events).toEqual(['refresh', 'cut-off']);
      g.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

const signer = perFile(() => TestSigner.create(), (s) => s.dispose());
const running = stoppedAfterEach<Agent>();

function enrolledAgent(clock?: FakeClock) {
  const a = testAgent({ signer, store: enrolledStore(signer), clock });
  running.push(a.agent);
  return a;
}

describe('Agent under partition, reclaim on-disconnect', () => {
  /** Floating over MQTT on leases with `claims`, then cut off: the broker connection is gone and nothing answers, not even HTTP. */
  async function partitionedWhileFloating(claims: Partial<LeaseClaims>) {
    const clock = new FakeClock(Date.now(), 5_000_000);
    const a = enrolledAgent(clock);
    await a.agent.start();
    const mqtt = (await a.transports())[0]!;
    const lease = () => signer.grant(claims, clock.now());
    mqtt.answer = lease;
    mqtt.connect();
    await a.agent.ready;
    await waitFor('floating', () => a.agent.status().licenseType === 'FLOATING');
    a.controller.reachable = false;
    mqtt.answer = async () => undefined;
    mqtt.drop();
    const heal = () => {
      mqtt.answer = lease;
      mqtt.connect();
    };
    return { agent: a.agent, clock, heal };
  }

  it('drops to the trial allowance once cut off for the lease’s grace (monotonic), and back on the next answer', async () => {
    const { agent, clock, heal } = await partitionedWhileFloating({ disconnectGraceSec: 20, ttl: 300 });
    clock.advance(19_999);
    expect(agent.status().licenseType).toBe('FLOATING');
    expect(agent.effectiveLimits()).toEqual({ tags: 100, connections: 5, plugins: ['OPC UA'] });
    clock.advance(1);
    expect(agent.status().licenseType).toBe('TRIAL');
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    // The lease itself is still valid (exp is 280 s away): only the grace ended it.
    expect(agent.status().secondsLeft).toBeGreaterThan(200);
    heal();
    await waitFor('floating again after the hello was answered', () => agent.status().licenseType === 'FLOATING');
  });

  it('a wall clock set back does not stretch the grace: it counts on the monotonic clock', async () => {
    const { agent, clock } = await partitionedWhileFloating({ disconnectGraceSec: 20, ttl: 300 });
    clock.advance(20_000);
    clock.setWall(clock.now() - 20_000);
    expect(agent.status().licenseType).toBe('TRIAL');
  });

  it('a lease without a grace (on-expiry pool) stays FLOATING while cut off, until its expiry', async () => {
    const { agent, clock } = await partitionedWhileFloating({ ttl: 300 });
    clock.advance(200_000);
    expect(agent.status().licenseType).toBe('FLOATING');
  });
});

describe('hello on every transport switch (ghost offline)', () => {
  it('a switch to MQTT while a WebSocket hello is in flight says hello over MQTT, not renew', async () => {
    const { agent, transports } = enrolledAgent();
    await agent.start();
    const [mqtt, ws] = await transports();
    // MQTT is down at first: the agent fails over to WebSocket and says hello there, slowly.
    await waitFor('ws started', () => ws!.started > 0);
    let answerWs!: (g: LeaseGrant) => void;
    ws!.answer = () => new Promise<LeaseGrant>((resolve) => (answerWs = resolve));
    ws!.connect();
    await waitFor('ws hello sent', () => ws!.calls.includes('hello'));
    // The broker is back while the WebSocket hello waits for its answer.
    mqtt!.connect();
    answerWs(await signer.grant());
    await waitFor('a request over MQTT', () => mqtt!.calls.length > 0);
    expect(mqtt!.calls[0]).toBe('hello');
    await waitFor('floating', () => agent.status().licenseType === 'FLOATING');
  });
});
