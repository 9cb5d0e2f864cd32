import { CompactSign, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { ed25519Kid, generateEd25519PrivateJwk, importEd25519PrivateJwk } from '../../../server/signing/ed25519-key.js';
import {
  issuePoolLicense,
  POOL_LICENSE_TYP,
  PoolLicenseError,
  verifyPoolLicense,
  type PoolLicenseClaims,
} from '../../../server/signing/pool-license.js';
import { base64urlJson } from './lease-fixtures.js';

const NOW = 1_795_000_000;
const claims: PoolLicenseClaims = {
  iss: 'ACME Licensing',
  sub: 'LIC-2026-0042',
  customer: 'Plant Nord GmbH',
  iat: NOW - 86_400,
  exp: NOW + 365 * 86_400,
  points: { tags: 20_000, connections: 200 },
  plugins: ['modbus-tcp', 'opcua', 'siemens-s7'],
};

async function issuer() {
  const key = await importEd25519PrivateJwk(await generateEd25519PrivateJwk());
  return { key, jwks: { keys: [key.publicJwk] } };
}

async function refusal(promise: Promise<unknown>): Promise<PoolLicenseError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PoolLicenseError);
  return err as PoolLicenseError;
}

describe('pool licenses', () => {
  it('round-trips: issued claims come back verified, with the issuer kid and no flags', async () => {
    const { key, jwks } = await issuer();
    const doc = await issuePoolLicense(key.privateKey, key.kid, claims);
    const verified = await verifyPoolLicense(doc, jwks, NOW);
    expect(verified).toEqual({ claims, kid: key.kid, expired: false, notYetValid: false });
  });

  it('flags an expired or not-yet-valid license instead of refusing it', async () => {
    const { key, jwks } = await issuer();
    const doc = await issuePoolLicense(key.privateKey, key.kid, { ...claims, nbf: NOW + 10 });
    expect(await verifyPoolLicense(doc, jwks, claims.exp)).toMatchObject({ expired: true, notYetValid: false });
    expect(await verifyPoolLicense(doc, jwks, NOW)).toMatchObject({ expired: false, notYetValid: true });
  });

  it('refuses a tampered document as bad-signature', async () => {
    const { key, jwks } = await issuer();
    const [header, , signature] = (await issuePoolLicense(key.privateKey, key.kid, claims)).split('.');
    const inflated = base64urlJson({ ...claims, points: { tags: 2_000_000, connections: 200 } });
    const err = await refusal(verifyPoolLicense(`${header}.${inflated}.${signature}`, jwks, NOW));
    expect(err.reason).toBe('bad-signature');
  });

  it('refuses a license from an untrusted issuer as unknown-issuer-key', async () => {
    const trusted = await issuer();
    const stranger = await issuer();
    const doc = await issuePoolLicense(stranger.key.privateKey, stranger.key.kid, claims);
    expect((await refusal(verifyPoolLicense(doc, trusted.jwks, NOW))).reason).toBe('unknown-issuer-key');
  });

  it('refuses a forgery that claims a trusted kid but was signed by another key', async () => {
    const trusted = await issuer();
    const stranger = await issuer();
    const doc = await issuePoolLicense(stranger.key.privateKey, trusted.key.kid, claims);
    expect((await refusal(verifyPoolLicense(doc, trusted.jwks, NOW))).reason).toBe('bad-signature');
  });

  it('accepts a trusted JWK without kid by its thumbprint', async () => {
    const { key } = await issuer();
    const { kty, crv, x } = key.publicJwk;
    const doc = await issuePoolLicense(key.privateKey, await ed25519Kid({ kty, crv, x }), claims);
    expect((await verifyPoolLicense(doc, { keys: [{ kty, crv, x }] }, NOW)).kid).toBe(key.kid);
  });

  it('refuses unsigned and non-EdDSA documents', async () => {
    const { key, jwks } = await issuer();
    const none = `${base64urlJson({ alg: 'none', kid: key.kid, typ: POOL_LICENSE_TYP })}.${base64urlJson(claims)}.`;
    expect((await refusal(verifyPoolLicense(none, jwks, NOW))).reason).toBe('bad-signature');
    const noAlg = `${base64urlJson({ kid: key.kid, typ: POOL_LICENSE_TYP })}.${base64urlJson(claims)}.`;
    expect((await refusal(verifyPoolLicense(noAlg, jwks, NOW))).reason).toBe('bad-signature');
  });

  it('refuses malformed input with a reason: garbage, wrong typ, invalid claims', async () => {
    const { key, jwks } = await issuer();
    expect((await refusal(verifyPoolLicense('not a license', jwks, NOW))).reason).toBe('malformed');

    const lease = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'floatlease-lease+jwt' })
      .sign(key.privateKey);
    const wrongTyp = await refusal(verifyPoolLicense(lease, jwks, NOW));
    expect(wrongTyp.reason).toBe('malformed');
    expect(wrongTyp.message).toMatch(/not a pool license/);

    const invalid = await new CompactSign(new TextEncoder().encode(JSON.stringify({ ...claims, points: { tags: -1 } })))
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: POOL_LICENSE_TYP })
      .sign(key.privateKey);
    const bad = await refusal(verifyPoolLicense(invalid, jwks, NOW));
    expect(bad.reason).toBe('malformed');
    expect(bad.message).toMatch(/points\.tags/);
    expect(bad.message).toMatch(/points\.connections/);
  });

  it('refuses to issue invalid claims', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const err = await refusal(issuePoolLicense(privateKey, 'k', { ...claims, exp: claims.iat }));
    expect(err.reason).toBe('malformed');
  });
});
