import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/api-harness.js';

let h: Harness;
let issuerServer: http.Server;
let issuer: string;
let privateKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'oidc-1', alg: 'ES256', use: 'sig' };
  // A minimal OIDC issuer on loopback: discovery document and JWKS.
  issuerServer = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => issuerServer.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  h = await startHarness({ oidc: { issuer, audience: 'floatlease', jwksUrl: undefined, roleClaim: 'floatlease_role', defaultRole: 'viewer' } });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => issuerServer.close(() => r()));
});

const oidcToken = (claims: Record<string, unknown>, opts: { audience?: string; expiresIn?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'oidc-1' })
    .setIssuer(issuer)
    .setAudience(opts.audience ?? 'floatlease')
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '5m')
    .sign(privateKey);

describe('OIDC bearer tokens', () => {
  it('are verified against the issuer JWKS (discovered) and carry their role', async () => {
    const admin = await oidcToken({ floatlease_role: 'admin', preferred_username: 'alice' });
    expect((await h.api('GET', '/api/v1/me', undefined, admin)).body).toEqual({ name: 'alice', role: 'admin', via: 'oidc' });
    expect((await h.api('POST', '/api/v1/pools', { name: 'from-oidc' }, admin)).status).toBe(201);
    const audit = await h.api<{ items: { actor: string }[] }>('GET', '/api/v1/audit?action=pool.created');
    expect(audit.body.items[0]?.actor).toBe('oidc:alice');
  });

  it('fall back to the default role without a role claim, and are refused when wrong', async () => {
    const plain = await oidcToken({ preferred_username: 'bob' });
    expect((await h.api('GET', '/api/v1/me', undefined, plain)).body).toMatchObject({ role: 'viewer' });
    expect((await h.api('POST', '/api/v1/pools', { name: 'nope' }, plain)).status).toBe(403);
    expect((await h.api('GET', '/api/v1/me', undefined, await oidcToken({}, { audience: 'someone-else' }))).status).toBe(401);
    expect((await h.api('GET', '/api/v1/me', undefined, await oidcToken({}, { expiresIn: '-1m' }))).status).toBe(401);
    const tampered = plain.slice(0, -4) + (plain.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await h.api('GET', '/api/v1/me', undefined, tampered)).status).toBe(401);
  });
});

describe('signing-key rotation over the API', () => {
  it('rotates: a new signing key, the old one retired and still listed', async () => {
    const before = await h.api<{ kid: string; signing: boolean }[]>('GET', '/api/v1/signing-keys');
    const old = before.body.find((k) => k.signing)!.kid;
    const after = await h.api<{ kid: string; signing: boolean; retiredAt: string | null }[]>('POST', '/api/v1/signing-keys/rotate');
    expect(after.status).toBe(200);
    const signing = after.body.find((k) => k.signing)!;
    expect(signing.kid).not.toBe(old);
    expect(after.body.find((k) => k.kid === old)?.retiredAt).not.toBeNull();
    // The audit row and the published key commit together (one transaction in SigningKeyService.rotate).
    const audit = await h.api<{ items: { action: string; subject: string; before: unknown }[] }>('GET', '/api/v1/audit?action=signing-key.rotated');
    expect(audit.body.items[0]).toMatchObject({ subject: signing.kid, before: { kid: old } });
    const jwks = await h.api<{ keys: { kid: string }[] }>('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k) => k.kid)).toContain(signing.kid);
    expect((await h.api('POST', '/api/v1/signing-keys/rotate', undefined, await h.token('operator'))).status).toBe(403);
  });
});
