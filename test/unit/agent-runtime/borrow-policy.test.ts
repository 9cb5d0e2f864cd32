import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { borrowLeadMs, keepsBorrow } from '../../../agent/lease/borrow-policy.js';
import { LeaseHolder } from '../../../agent/lease/lease-holder.js';
import { LeasePipeline } from '../../../agent/lease/lease-pipeline.js';
import { LeaseVerifier } from '../../../agent/lease/lease-verifier.js';
import { RenewalScheduler } from '../../../agent/lease/renewal-scheduler.js';
import { LEASE_AUDIENCE } from '../../../shared/protocol/lease-claims.js';
import { waitFor } from '../../helpers/ports.js';
import { leaseClaims } from '../signing/lease-fixtures.js';
import { FakeClock } from '../agent/fake-clock.js';
import { captureLogger, GATEWAY_ID, HARDWARE_ID, MemoryStore, TestSigner } from './fakes.js';

/** Issue 21, the agent's half of offline borrowing: what it keeps, and when it asks again (injected clocks). */
describe('borrow policy', () => {
  it('asks for an ordinary lease a third of the borrow before its end, at most 5 min before', () => {
    expect(borrowLeadMs(60)).toBe(20_000);
    expect(borrowLeadMs(900)).toBe(300_000);
    expect(borrowLeadMs(8 * 3600)).toBe(300_000);
  });

  const borrow = { borrow: true as const };
  const ordinary = {};
  const cases: { name: string; held: { borrow?: true } | undefined; due: boolean; incoming: { borrow?: true }; source: string; keeps: boolean }[] = [
    { name: 'a hello answer while borrowing', held: borrow, due: false, incoming: ordinary, source: 'mqtt', keeps: true },
    { name: 'a push over WebSocket while borrowing', held: borrow, due: false, incoming: ordinary, source: 'ws', keeps: true },
    { name: 'an HTTP pull while borrowing', held: borrow, due: false, incoming: ordinary, source: 'http', keeps: true },
    { name: 'the explicit return', held: borrow, due: false, incoming: ordinary, source: 'return', keeps: false },
    { name: 'an offline license file loaded at the device', held: borrow, due: false, incoming: ordinary, source: 'file', keeps: false },
    { name: 'a new borrow replaces a borrow', held: borrow, due: false, incoming: borrow, source: 'borrow', keeps: false },
    { name: "an ordinary lease in the borrow's last stretch", held: borrow, due: true, incoming: ordinary, source: 'mqtt', keeps: false },
    { name: 'an ordinary lease held: renewals as always', held: ordinary, due: false, incoming: ordinary, source: 'mqtt', keeps: false },
    { name: 'no valid lease held', held: undefined, due: true, incoming: ordinary, source: 'mqtt', keeps: false },
  ];
  for (const c of cases) {
    it(`${c.keeps ? 'keeps the borrow against' : 'takes'} ${c.name}`, () => {
      expect(keepsBorrow(c.held, c.due, c.incoming, c.source)).toBe(c.keeps);
    });
  }
});

describe('LeaseHolder with a borrow', () => {
  it('wants no renewal before the last stretch of the borrow, and runs to exp exactly', () => {
    const clock = new FakeClock();
    const holder = new LeaseHolder({ clock, clockSkewSec: 30 });
    const ttl = 3600;
    holder.accept('jws-borrow', leaseClaims(clock.nowSec(), { ttl, exp: clock.nowSec() + ttl, borrow: true, offline: true }));
    expect(holder.borrowed()?.jws).toBe('jws-borrow');
    // An ordinary lease of that length would renew at 1200 s; the borrow at 3300 s.
    expect(holder.renewDueInMs()).toBe(3_300_000);
    clock.advance(3_299_999);
    expect(holder.renewDueInMs()).toBe(1);
    clock.advance(1);
    expect(holder.renewDueInMs()).toBe(0);
    clock.advance(299_999);
    expect(holder.licenseType()).toBe('FLOATING');
    clock.advance(1);
    // Never past exp on the time floor (the skew only tolerates a wall clock that is behind).
    expect(holder.licenseType()).toBe('TRIAL');
    expect(holder.borrowed()).toBeUndefined();
  });

  it('keeps the rule across a restart (restore)', () => {
    const clock = new FakeClock();
    const claims = leaseClaims(clock.nowSec(), { ttl: 3600, exp: clock.nowSec() + 3600, borrow: true, seq: 4 });
    clock.advance(600_000);
    const holder = new LeaseHolder({ clock });
    expect(holder.restore({ jws: 'jws-borrow', claims, receivedAt: clock.now() - 600_000 })).toBe(true);
    expect(holder.renewDueInMs()).toBe(2_700_000);
    expect(holder.borrowed()).toBeDefined();
  });
});

let signer: TestSigner;
beforeAll(async () => {
  signer = await TestSigner.create();
});
afterAll(() => signer.dispose());

function pipelineOn(clock: FakeClock) {
  const holder = new LeaseHolder({ clock });
  const trust = signer.trust();
  const verifier = new LeaseVerifier({ jwks: trust.jwks, gatewayId: GATEWAY_ID, hardwareId: HARDWARE_ID, audience: LEASE_AUDIENCE, clock });
  const log = captureLogger();
  const pipeline = new LeasePipeline({ verifier, holder, store: new MemoryStore(), trust, fetchKeySet: () => signer.keySet(), logger: log.logger, clock });
  const acks: string[] = [];
  const deliver = (g: Awaited<ReturnType<TestSigner['grant']>>, source: string) => pipeline.deliver(g, source, async (jti) => void acks.push(jti));
  return { holder, deliver, acks, log };
}

describe('LeasePipeline with a borrow', () => {
  it('an ordinary lease while borrowing is neither taken nor acknowledged, the return is, and so is one in the last stretch', async () => {
    const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
    const { holder, deliver, acks, log } = pipelineOn(clock);
    const b = await signer.grant({ ttl: 3600, borrow: true, offline: true, points: { tags: 60, connections: 3 } }, clock.now());
    expect((await deliver(b, 'borrow')).accepted).toBe(true);
    const push = await signer.grant({ ttl: 300, disconnectGraceSec: 20, points: { tags: 20, connections: 3 } }, clock.now());
    expect(await deliver(push, 'mqtt')).toEqual({ accepted: false, reason: 'borrow-kept' });
    expect(acks).toEqual([b.jti]);
    expect(holder.effectiveLimits().tags).toBe(60);
    expect(holder.borrowed()?.claims.jti).toBe(b.jti);
    expect(log.messages()).toContain('kept the borrow: an ordinary lease replaces it on return or in its last minutes');
    // The explicit return takes an ordinary lease, and acknowledges it (which ends the borrow at the controller).
    const back = await signer.grant({ ttl: 300, points: { tags: 20, connections: 3 } }, clock.now());
    expect((await deliver(back, 'return')).accepted).toBe(true);
    expect(acks).toEqual([b.jti, back.jti]);
    expect(holder.borrowed()).toBeUndefined();
    expect(holder.effectiveLimits().tags).toBe(20);
  });

  it("in the borrow's last stretch an ordinary renewal is taken: a connected gateway carries on", async () => {
    const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
    const { holder, deliver } = pipelineOn(clock);
    const b = await signer.grant({ ttl: 600, borrow: true }, clock.now());
    await deliver(b, 'borrow');
    clock.advance(400_000 - 1);
    expect((await deliver(await signer.grant({ ttl: 300 }, clock.now()), 'mqtt')).accepted).toBe(false);
    clock.advance(1);
    expect((await deliver(await signer.grant({ ttl: 300 }, clock.now()), 'mqtt')).accepted).toBe(true);
    expect(holder.borrowed()).toBeUndefined();
  });
});

describe('RenewalScheduler with a borrow', () => {
  it('a failed or refused attempt while borrowing waits for the last stretch instead of retrying with backoff', async () => {
    const clock = new FakeClock();
    const holder = new LeaseHolder({ clock });
    holder.accept('jws-borrow', leaseClaims(clock.nowSec(), { ttl: 3600, exp: clock.nowSec() + 3600, borrow: true }));
    const attempts: { renewed: boolean; nextInMs: number; attempt: number }[] = [];
    let requests = 0;
    const scheduler = new RenewalScheduler({
      holder,
      backoff: { baseMs: 10, maxMs: 100 },
      minDelayMs: 10,
      minGapMs: 0,
      request: async () => {
        requests += 1;
        throw new Error('no answer');
      },
      onAttempt: (a) => attempts.push(a),
    });
    // A transport came up: the hello goes out at once, gets nothing fresh.
    scheduler.start(0);
    await waitFor('the attempt', () => attempts.length >= 1);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toEqual({ renewed: false, error: expect.any(Error), attempt: 0, nextInMs: 3_300_000 });
    expect(scheduler.nextInMs()).toBeGreaterThan(3_000_000);
    // In the last stretch the ordinary backoff applies again.
    clock.advance(3_300_000);
    scheduler.requestNow();
    await waitFor('the second attempt', () => attempts.length >= 2);
    expect(attempts[1]!.attempt).toBe(1);
    expect(attempts[1]!.nextInMs).toBeLessThanOrEqual(100);
    scheduler.stop();
    expect(requests).toBe(attempts.length);
  });
});
