import { createHmac } from 'node:crypto';
import { CompactSign } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { LeaseVerifier, type LeaseRefusalReason } from '../../../agent/lease/lease-verifier.js';
import { hardwareDigest } from '../../../agent/hardware/hardware-id.js';
import { LEASE_AUDIENCE, LEASE_TYP, type LeaseClaims } from '../../../shared/protocol/lease-claims.js';
import { generateEd25519PrivateJwk, importEd25519PrivateJwk, type Ed25519Key } from '../../../server/signing/ed25519-key.js';
import { LeaseSigner } from '../../../server/signing/lease-signer.js';
import { base64urlJson, GATEWAY_ID, HARDWARE_ID, keyStorePerFile, leaseClaims } from '../signing/lease-fixtures.js';
import { FakeClock } from './fake-clock.js';

const clock = new FakeClock();
const now = clock.nowSec();
const store = keyStorePerFile('verifier', clock);
const signer = new LeaseSigner(store);
let stranger: Ed25519Key;
beforeAll(async () => {
  stranger = await importEd25519PrivateJwk(await generateEd25519PrivateJwk());
});

function verifier(options: { issuer?: string; clockSkewSec?: number } = {}) {
  return new LeaseVerifier({ jwks: store.publicJwks(), gatewayId: GATEWAY_ID, hardwareId: HARDWARE_ID, audience: LEASE_AUDIENCE, clock, ...options });
}

/** Signs any payload with the controller's real key, bypassing the signer's own validation. */
function signRaw(payload: unknown, header: Record<string, unknown> = {}, key: CryptoKey = store.current().privateKey): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'EdDSA', kid: store.current().kid, typ: LEASE_TYP, ...header })
    .sign(key);
}

async function expectRefusal(jws: string, reason: LeaseRefusalReason, lastSeq = 0, v = verifier()): Promise<void> {
  const verdict = await v.verify(jws, lastSeq);
  expect(verdict).toMatchObject({ ok: false, reason });
}

describe('LeaseVerifier', () => {
  it('accepts a genuine lease and returns its parsed claims and kid', async () => {
    const claims = leaseClaims(now, { seq: 7 });
    const verdict = await verifier().verify(await signer.sign(claims), 6);
    expect(verdict).toEqual({ ok: true, claims, kid: store.current().kid });
  });

  it('bad-signature: signed by another key under the pinned kid', async () => {
    await expectRefusal(await signRaw(leaseClaims(now), {}, stranger.privateKey), 'bad-signature');
  });

  it('bad-signature: payload tampered after signing', async () => {
    const [header, , signature] = (await signer.sign(leaseClaims(now))).split('.');
    const inflated = base64urlJson(leaseClaims(now, { points: { tags: 1_000_000, connections: 1_000 } }));
    await expectRefusal(`${header}.${inflated}.${signature}`, 'bad-signature');
  });

  it('bad-signature: alg none, with or without a signature part', async () => {
    const header = base64urlJson({ alg: 'none', kid: store.current().kid, typ: LEASE_TYP });
    const payload = base64urlJson(leaseClaims(now));
    await expectRefusal(`${header}.${payload}.`, 'bad-signature');
    await expectRefusal(`${header}.${payload}.AAAA`, 'bad-signature');
  });

  it('bad-signature: HS256 keyed with the public key (algorithm confusion)', async () => {
    const jwk = store.publicJwks().keys[0];
    const header = base64urlJson({ alg: 'HS256', kid: store.current().kid, typ: LEASE_TYP });
    const payload = base64urlJson(leaseClaims(now));
    const mac = createHmac('sha256', JSON.stringify(jwk)).update(`${header}.${payload}`).digest('base64url');
    await expectRefusal(`${header}.${payload}.${mac}`, 'bad-signature');
  });

  it('unknown-key: a kid that is not pinned, or none at all', async () => {
    await expectRefusal(await signRaw(leaseClaims(now), { kid: stranger.kid }, stranger.privateKey), 'unknown-key');
    const noKid = await new CompactSign(new TextEncoder().encode(JSON.stringify(leaseClaims(now))))
      .setProtectedHeader({ alg: 'EdDSA', typ: LEASE_TYP })
      .sign(store.current().privateKey);
    await expectRefusal(noKid, 'unknown-key');
  });

  it('wrong-audience, wrong-issuer, wrong-gateway, wrong-hardware', async () => {
    await expectRefusal(await signer.sign(leaseClaims(now, { aud: 'someone-else' })), 'wrong-audience');
    await expectRefusal(await signer.sign(leaseClaims(now, { iss: 'rogue' })), 'wrong-issuer', 0, verifier({ issuer: 'floatlease-test' }));
    await expectRefusal(await signer.sign(leaseClaims(now, { sub: '11111111-2222-4333-8444-555555555555' })), 'wrong-gateway');
    await expectRefusal(await signer.sign(leaseClaims(now, { hwid: hardwareDigest('another-machine') })), 'wrong-hardware');
  });

  it('expired: beyond the clock skew is refused, inside it accepted', async () => {
    const v = verifier({ clockSkewSec: 30 });
    const longAgo = (exp: number): Partial<LeaseClaims> => ({ iat: exp - 300, nbf: exp - 300, exp });
    await expectRefusal(await signer.sign(leaseClaims(now, longAgo(now - 31))), 'expired', 0, v);
    await expectRefusal(await signer.sign(leaseClaims(now, longAgo(now - 30))), 'expired', 0, v);
    expect(await v.verify(await signer.sign(leaseClaims(now, longAgo(now - 29))), 0)).toMatchObject({ ok: true });
  });

  it('not-yet-valid: nbf beyond the skew is refused, inside it accepted', async () => {
    const v = verifier();
    const future = (nbf: number): Partial<LeaseClaims> => ({ iat: nbf, nbf, exp: nbf + 300 });
    await expectRefusal(await signer.sign(leaseClaims(now, future(now + 31))), 'not-yet-valid', 0, v);
    expect(await v.verify(await signer.sign(leaseClaims(now, future(now + 30))), 0)).toMatchObject({ ok: true });
  });

  it('replayed: a lower or equal seq is refused, the next one accepted', async () => {
    const jws = await signer.sign(leaseClaims(now, { seq: 41 }));
    await expectRefusal(jws, 'replayed', 42);
    await expectRefusal(jws, 'replayed', 41);
    expect(await verifier().verify(jws, 40)).toMatchObject({ ok: true });
  });

  it('malformed: garbage, oversized, wrong typ, bad JSON, and claims that break the schema', async () => {
    await expectRefusal('garbage', 'malformed');
    await expectRefusal('a.b.c', 'malformed');
    await expectRefusal(`${'a'.repeat(9000)}.b.c`, 'malformed');
    await expectRefusal(await signRaw(leaseClaims(now), { typ: 'JWT' }), 'malformed');
    const notJson = await new CompactSign(new TextEncoder().encode('{not json'))
      .setProtectedHeader({ alg: 'EdDSA', kid: store.current().kid, typ: LEASE_TYP })
      .sign(store.current().privateKey);
    await expectRefusal(notJson, 'malformed');
    const { hwid: _hwid, ...withoutHwid } = leaseClaims(now);
    await expectRefusal(await signRaw(withoutHwid), 'malformed');
    await expectRefusal(await signRaw({ ...leaseClaims(now), points: { tags: -5, connections: 1 } }), 'malformed');
    await expectRefusal(await signRaw({ ...leaseClaims(now), seq: 1.5 }), 'malformed');
  });

  it('rejects a JWKS with no usable Ed25519 key at construction and on replacement', () => {
    const build = (jwks: unknown) => new LeaseVerifier({ jwks, gatewayId: GATEWAY_ID, hardwareId: HARDWARE_ID, audience: LEASE_AUDIENCE, clock });
    expect(() => build({ keys: [] })).toThrow(/no Ed25519/);
    expect(() => build({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] })).toThrow(/no Ed25519/);
    expect(() => build('nope')).toThrow(/keys/);
    expect(() => verifier().replaceJwks({ keys: [] })).toThrow(/no Ed25519/);
  });
});
