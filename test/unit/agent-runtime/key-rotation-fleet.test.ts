import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { LeaseHolder } from '../../../agent/lease/lease-holder.js';
import { LeasePipeline } from '../../../agent/lease/lease-pipeline.js';
import { LeaseVerifier } from '../../../agent/lease/lease-verifier.js';
import { systemClock } from '../../../agent/lease/clock.js';
import { KeySetVoucher } from '../../../server/signing/key-set-voucher.js';
import { LeaseSigner } from '../../../server/signing/lease-signer.js';
import { PublishedSigningKey } from '../../../server/signing/published-signing-key.js';
import { LEASE_AUDIENCE, type LeaseClaims } from '../../../shared/protocol/lease-claims.js';
import { captureLogger, HARDWARE_ID, MemoryStore, POOL_ID } from './fakes.js';
import { keyStorePerFile } from '../signing/lease-fixtures.js';

const AGENTS = 200;

/**
 * Issue 16 acceptance: a key rotation with 200 agents, each with its own pinned keys, verifier and
 * pipeline (the agent's real code), against the controller's real key store, signer and key-set
 * voucher. Every agent moves to the new key with no lease refused and no re-enrollment.
 */
describe('key rotation across a fleet of 200 agents', () => {
  const keys = keyStorePerFile('fleet-rotation');

  it('every agent adopts the vouched new key; leases before publication keep the old key', async () => {
    const published = new Set(keys.keys().map((k) => k.kid));
    const jwks = async () => ({ keys: keys.keys().filter((k) => published.has(k.kid)).map((k) => k.publicJwk as unknown as Record<string, unknown>) });
    const signer = new LeaseSigner(new PublishedSigningKey(keys, (kid) => published.has(kid)));
    const voucher = new KeySetVoucher(keys, jwks);
    const pinnedAtEnrollment = await jwks();
    const clock = systemClock();
    let keySetFetches = 0;
    let orphaned = 0;
    const fleet = Array.from({ length: AGENTS }, () => {
      const gatewayId = randomUUID();
      const holder = new LeaseHolder({ clock });
      const store = new MemoryStore();
      const trust = { jwks: pinnedAtEnrollment, issuer: 'floatlease', audience: LEASE_AUDIENCE };
      const verifier = new LeaseVerifier({ jwks: trust.jwks, gatewayId, hardwareId: HARDWARE_ID, audience: LEASE_AUDIENCE, issuer: 'floatlease', clock });
      const pipeline = new LeasePipeline({
        verifier,
        holder,
        store,
        trust,
        fetchKeySet: () => (keySetFetches++, voucher.document()),
        onKeysOrphaned: () => void orphaned++,
        logger: captureLogger('warn').logger,
        clock,
      });
      return { gatewayId, holder, store, pipeline, seq: 0 };
    });
    const grantAll = async () => {
      const kids = new Set<string>();
      const outcomes = await Promise.all(
        fleet.map(async (a) => {
          const now = Math.floor(Date.now() / 1000);
          const claims: LeaseClaims = {
            iss: 'floatlease', sub: a.gatewayId, aud: LEASE_AUDIENCE, jti: randomUUID(), iat: now, nbf: now, exp: now + 300, seq: ++a.seq,
            pool: POOL_ID, hwid: HARDWARE_ID, points: { tags: 10, connections: 1 }, plugins: [], licenseExpiresAt: now + 86_400, ttl: 300,
          };
          const { jws, kid } = await signer.signWithKid(claims);
          kids.add(kid);
          return a.pipeline.deliver({ lease: jws, jti: claims.jti, seq: claims.seq, expiresAt: claims.exp, ttl: claims.ttl }, 'test', async () => undefined);
        }),
      );
      return { refused: outcomes.filter((o) => !o.accepted).length, kids };
    };

    const before = await grantAll();
    expect(before.refused).toBe(0);
    const oldKid = [...before.kids][0]!;

    const created = await keys.rotate();
    // Rotated but not yet published: leases keep the old key, nobody needs to look anything up.
    const meanwhile = await grantAll();
    expect(meanwhile).toEqual({ refused: 0, kids: new Set([oldKid]) });
    expect(keySetFetches).toBe(0);

    published.add(created.kid);
    const after = await grantAll();
    expect(after).toEqual({ refused: 0, kids: new Set([created.kid]) });
    expect(orphaned).toBe(0);
    for (const a of fleet) {
      expect(decodeProtectedHeader(a.holder.current()!.jws).kid).toBe(created.kid);
      expect(a.store.trust?.jwks.keys.map((k) => k.kid)).toContain(created.kid);
    }
    // One key-set fetch per agent at most (each meets the new kid once).
    expect(keySetFetches).toBeLessThanOrEqual(AGENTS);
  }, 120_000);
});
