import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../agent/lease/clock.js';
import { LeaseHolder } from '../../../agent/lease/lease-holder.js';
import { LeasePipeline } from '../../../agent/lease/lease-pipeline.js';
import { LeaseVerifier } from '../../../agent/lease/lease-verifier.js';
import { decodeProtectedHeader } from 'jose';
import { LEASE_AUDIENCE } from '../../../shared/protocol/lease-claims.js';
import { captureLogger, GATEWAY_ID, HARDWARE_ID, MemoryStore, TestSigner } from './fakes.js';
import { perFile } from '../../helpers/per-file.js';

const signer = perFile(() => TestSigner.create(), (s) => s.dispose());
const stranger = perFile(() => TestSigner.create(), (s) => s.dispose());

function setup(fetchKeySet: () => Promise<unknown> = async () => signer.keySet(), pinnedFrom: TestSigner = signer) {
  const clock = systemClock();
  const holder = new LeaseHolder({ clock });
  const store = new MemoryStore();
  const trust = pinnedFrom.trust();
  const verifier = new LeaseVerifier({ jwks: trust.jwks, gatewayId: GATEWAY_ID, hardwareId: HARDWARE_ID, audience: LEASE_AUDIENCE, clock });
  const log = captureLogger();
  let fetches = 0;
  const pipeline = new LeasePipeline({
    verifier,
    holder,
    store,
    trust,
    fetchKeySet: () => (fetches++, fetchKeySet()),
    logger: log.logger,
    clock,
  });
  const acks: string[] = [];
  const deliver = async (grant: Awaited<ReturnType<TestSigner['grant']>>, retained = false) => pipeline.deliver(grant, 'test', async (jti) => void acks.push(jti), retained);
  return { holder, store, pipeline, acks, log, deliver, fetches: () => fetches };
}

describe('LeasePipeline', () => {
  it('verifies, accepts, persists, then acknowledges', async () => {
    const { holder, store, acks, deliver } = setup();
    const g = await signer.grant({ points: { tags: 120, connections: 7 } });
    const outcome = await deliver(g);
    expect(outcome.accepted).toBe(true);
    expect(holder.effectiveLimits()).toEqual({ tags: 120, connections: 7, plugins: ['OPC UA'] });
    expect(store.state.lease).toMatchObject({ jws: g.lease, seq: g.seq });
    expect(acks).toEqual([g.jti]);
  });

  it('refuses forged, replayed, foreign and expired leases: logged with the reason, never acknowledged, limits unchanged', async () => {
    const { holder, acks, log, deliver } = setup();
    const good = await signer.grant();
    await deliver(good);
    const limits = holder.effectiveLimits();
    const tampered = { ...good, lease: good.lease.replace(/\.([^.]+)\./, (_m, p: string) => `.${p.slice(0, -2)}AA.`) };
    const cases = [
      [await stranger.grant({ seq: 900 }), 'unknown-key'],
      [tampered, 'bad-signature'],
      [await signer.grant({ seq: good.seq }), 'replayed'],
      [await signer.grant({ sub: '11111111-2222-4333-8444-555555555555' }), 'wrong-gateway'],
      [await signer.grant({ hwid: 'A'.repeat(43) + '=' }), 'wrong-hardware'],
      [await signer.grant({}, Date.now() - 3_600_000), 'expired'],
      [await signer.grant({}, Date.now() + 3_600_000), 'not-yet-valid'],
    ] as const;
    for (const [grant, reason] of cases) {
      expect(await deliver(grant)).toEqual({ accepted: false, reason });
    }
    expect(acks).toEqual([good.jti]);
    expect(holder.effectiveLimits()).toEqual(limits);
    const refusals = log.lines.filter((l) => l.msg === 'refused a lease');
    expect(refusals.map((l) => l.reason)).toEqual(cases.map(([, r]) => r));
    expect(refusals.every((l) => l.level === 40 && typeof l.detail === 'string')).toBe(true);
  });

  it('on an unknown key fetches the key set once (rotation), adopts it because a pinned key signed it, and accepts', async () => {
    const own = await TestSigner.create();
    try {
      const { holder, store, acks, deliver, fetches } = setup(async () => own.keySet(), own);
      const pinnedKid = String(own.jwks().keys[0]!.kid);
      await own.keys.rotate();
      own.seq = 100;
      const g = await own.grant();
      expect(decodeProtectedHeader(g.lease).kid).not.toBe(pinnedKid);
      expect((await deliver(g)).accepted).toBe(true);
      expect(fetches()).toBe(1);
      expect(holder.lastAcceptedSeq()).toBe(g.seq);
      expect(acks).toEqual([g.jti]);
      expect(store.trust?.jwks.keys).toHaveLength(2);
      // A second unknown key soon after does not hammer the controller.
      expect(await deliver(await stranger.grant({ seq: 200 }))).toEqual({ accepted: false, reason: 'unknown-key' });
      expect(fetches()).toBe(1);
    } finally {
      await own.dispose();
    }
  });

  it('adopts the key set the first lease of a new key carries, without a fetch; a set no pinned key signed is refused', async () => {
    const own = await TestSigner.create();
    try {
      const { holder, store, deliver, fetches, log } = setup(async () => {
        throw new Error('the controller is unreachable over HTTP');
      }, own);
      await own.keys.rotate();
      own.seq = 100;
      // A stranger's set riding on the stranger's lease: refused, the pinned keys kept (then the fetch fails too).
      const forged = { ...(await stranger.grant({ seq: 150 })), keySet: await stranger.keySet() };
      expect(await deliver(forged)).toEqual({ accepted: false, reason: 'unknown-key' });
      expect(store.trust).toBeUndefined();
      expect(log.lines.some((l) => l.msg === 'refused a key set no pinned key vouches for; keeping the pinned keys' && l.from === 'test lease')).toBe(true);
      const g = { ...(await own.grant()), keySet: await own.keySet() };
      expect((await deliver(g)).accepted).toBe(true);
      expect(holder.lastAcceptedSeq()).toBe(g.seq);
      expect(store.trust?.jwks.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(g.lease).kid);
      // Only the forged lease's attempt reached for the controller; the genuine one needed nothing.
      expect(fetches()).toBe(1);
    } finally {
      await own.dispose();
    }
  });

  it('ignores the lease it already holds (a retained copy), and a stale retained one quietly', async () => {
    const { acks, log, deliver } = setup();
    const first = await signer.grant();
    const second = await signer.grant();
    await deliver(first);
    await deliver(second);
    expect(await deliver(second, true)).toEqual({ accepted: false, reason: 'duplicate' });
    expect(await deliver(first, true)).toEqual({ accepted: false, reason: 'replayed' });
    // Seen after a borrow over HTTP: the broker's copy had expired, and the agent blamed its clock.
    expect(await deliver(await signer.grant({}, Date.now() - 3_600_000), true)).toEqual({ accepted: false, reason: 'expired' });
    expect(acks).toEqual([first.jti, second.jti]);
    expect(log.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it('handles concurrent deliveries one at a time, so seq order holds', async () => {
    const { holder, deliver } = setup();
    const grants = [await signer.grant(), await signer.grant(), await signer.grant()];
    const outcomes = await Promise.all([deliver(grants[2]!), deliver(grants[0]!), deliver(grants[1]!)]);
    expect(outcomes.map((o) => o.accepted)).toEqual([true, false, false]);
    expect(holder.lastAcceptedSeq()).toBe(grants[2]!.seq);
  });
});
