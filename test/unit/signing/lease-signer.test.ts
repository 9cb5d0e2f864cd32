import { compactVerify, createLocalJWKSet } from 'jose';
import { describe, expect, it } from 'vitest';
import { LeaseVerifier } from '../../../agent/lease/lease-verifier.js';
import { LEASE_AUDIENCE, LEASE_TYP } from '../../../shared/protocol/lease-claims.js';
import { InvalidLeaseClaimsError, LeaseSigner } from '../../../server/signing/lease-signer.js';
import { SigningKeyStore } from '../../../server/signing/signing-key-store.js';
import { FakeClock } from '../agent/fake-clock.js';
import { decodeJwsPart, GATEWAY_ID, HARDWARE_ID, leaseClaims, recordingLogger, tempDirsPerTest } from './lease-fixtures.js';

const freshDir = tempDirsPerTest('signer');

async function setup() {
  const dir = await freshDir();
  const clock = new FakeClock();
  const store = await SigningKeyStore.open({ dir, clock, logger: recordingLogger() });
  return { clock, store, signer: new LeaseSigner(store) };
}

function agentVerifier(jwks: unknown, clock: FakeClock) {
  return new LeaseVerifier({ jwks, gatewayId: GATEWAY_ID, hardwareId: HARDWARE_ID, audience: LEASE_AUDIENCE, clock });
}

describe('LeaseSigner', () => {
  it('produces a compact EdDSA JWS with kid and typ whose payload is exactly the claims', async () => {
    const { clock, store, signer } = await setup();
    const claims = leaseClaims(clock.nowSec());
    const jws = await signer.sign(claims);
    expect(jws.split('.')).toHaveLength(3);
    expect(decodeJwsPart(jws, 0)).toEqual({ alg: 'EdDSA', kid: store.current().kid, typ: LEASE_TYP });
    const { payload } = await compactVerify(jws, createLocalJWKSet(store.publicJwks()), { algorithms: ['EdDSA'] });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual(claims);
  });

  it('refuses to sign claims the agent would refuse as malformed', async () => {
    const { clock, signer } = await setup();
    const bad = { ...leaseClaims(clock.nowSec()), seq: 0, hwid: 'not-a-digest' };
    const err = await signer.sign(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidLeaseClaimsError);
    expect((err as InvalidLeaseClaimsError).issues.map((i) => i.split(':')[0])).toEqual(['seq', 'hwid']);
  });

  it('returns the kid with signWithKid', async () => {
    const { clock, store, signer } = await setup();
    const { jws, kid } = await signer.signWithKid(leaseClaims(clock.nowSec()));
    expect(kid).toBe(store.current().kid);
    expect(decodeJwsPart(jws, 0).kid).toBe(kid);
  });
});

describe('key rotation', () => {
  it('keeps leases signed by the retired key valid against the served JWKS; new leases use the new kid', async () => {
    const { clock, store, signer } = await setup();
    const before = await signer.signWithKid(leaseClaims(clock.nowSec(), { seq: 1 }));
    const rotated = await store.rotate();
    const after = await signer.signWithKid(leaseClaims(clock.nowSec(), { seq: 2 }));
    expect(after.kid).toBe(rotated.kid);
    expect(after.kid).not.toBe(before.kid);

    const verifier = agentVerifier(store.publicJwks(), clock);
    const old = await verifier.verify(before.jws, 0);
    expect(old).toMatchObject({ ok: true, kid: before.kid });
    expect(await verifier.verify(after.jws, 1)).toMatchObject({ ok: true, kid: rotated.kid });
  });

  it('an agent pinned to the old JWKS learns the new key by replaceJwks', async () => {
    const { clock, store, signer } = await setup();
    const verifier = agentVerifier(store.publicJwks(), clock);
    await store.rotate();
    const jws = await signer.sign(leaseClaims(clock.nowSec(), { seq: 5 }));
    expect(await verifier.verify(jws, 0)).toMatchObject({ ok: false, reason: 'unknown-key' });
    verifier.replaceJwks(store.publicJwks());
    expect(await verifier.verify(jws, 0)).toMatchObject({ ok: true });
  });

  it('after pruning the retired key, its leases are refused as unknown-key', async () => {
    const { clock, store, signer } = await setup();
    const old = await signer.sign(leaseClaims(clock.nowSec()));
    await store.rotate();
    await store.prune(Number.MAX_SAFE_INTEGER, new Map());
    expect(await agentVerifier(store.publicJwks(), clock).verify(old, 0)).toMatchObject({ ok: false, reason: 'unknown-key' });
  });
});
