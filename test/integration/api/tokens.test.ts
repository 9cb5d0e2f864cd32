import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useHarness } from '../../helpers/api-harness.js';
import { tablesContaining } from './db-snapshot.js';
import type { ProblemBody } from './route-fixtures.js';

const h = useHarness();

interface TokenBody {
  id: string;
  name: string;
  role: string;
  tokenPrefix: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  token?: string;
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest('hex');

describe('API tokens', () => {
  it('are shown once on creation, listed by prefix only, and stored only as a SHA-256 hash', async () => {
    const created = await h.api<TokenBody>('POST', '/api/v1/tokens', { name: 'ci-bot', role: 'operator' });
    expect(created.status).toBe(201);
    const secret = created.body.token!;
    expect(secret).toMatch(/^fl_[A-Za-z0-9_-]{43}$/);
    expect(created.body.tokenPrefix).toBe(secret.slice(0, 7));

    const me = await h.api<{ name: string; role: string }>('GET', '/api/v1/me', undefined, secret);
    expect(me.body).toEqual({ name: 'ci-bot', role: 'operator', via: 'token' });

    const list = await h.api<TokenBody[]>('GET', '/api/v1/tokens');
    expect(list.status).toBe(200);
    const listed = list.body.find((t) => t.id === created.body.id);
    expect(listed).toMatchObject({ name: 'ci-bot', role: 'operator', tokenPrefix: secret.slice(0, 7), revokedAt: null });
    expect(list.body.every((t) => !('token' in t) && !('tokenHash' in t))).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(7));
    expect(JSON.stringify(list.body)).not.toContain(sha256(secret));

    const [row] = await h.db.database.sql<{ token_hash: string; token_prefix: string }[]>`select token_hash, token_prefix from api_tokens where id = ${created.body.id}`;
    expect(row).toEqual({ token_hash: sha256(secret), token_prefix: secret.slice(0, 7) });
    // The search finds what is there (the hash) ...
    expect(await tablesContaining(h, sha256(secret))).toEqual({ api_tokens: 1 });
    // ... and no column of any table holds the secret (nor its secret part).
    expect(await tablesContaining(h, secret)).toEqual({});
    expect(await tablesContaining(h, secret.slice(7))).toEqual({});
  });

  it('revoked, the token stops working at once', async () => {
    const created = await h.api<TokenBody>('POST', '/api/v1/tokens', { name: 'to-revoke', role: 'admin' });
    const secret = created.body.token!;
    expect((await h.api('GET', '/api/v1/tokens', undefined, secret)).status).toBe(200);
    const revoked = await h.api<TokenBody>('DELETE', `/api/v1/tokens/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect('token' in revoked.body).toBe(false);
    for (const [method, path] of [['GET', '/api/v1/me'], ['GET', '/api/v1/tokens'], ['POST', '/api/v1/signing-keys/rotate']] as const) {
      const r = await h.api<ProblemBody>(method, path, undefined, secret);
      expect(r.status).toBe(401);
      expect(r.body.name).toBe('unauthorized');
    }
    const listed = (await h.api<TokenBody[]>('GET', '/api/v1/tokens')).body.find((t) => t.id === created.body.id);
    expect(listed?.revokedAt).toBe(revoked.body.revokedAt);
  });

  it('an expired token stops working', async () => {
    const created = await h.api<TokenBody>('POST', '/api/v1/tokens', { name: 'short-lived', role: 'viewer', expiresAt: new Date(Date.now() + 60_000).toISOString() });
    const secret = created.body.token!;
    expect((await h.api('GET', '/api/v1/me', undefined, secret)).status).toBe(200);
    await h.db.database.sql`update api_tokens set expires_at = now() - interval '1 second' where id = ${created.body.id}`;
    expect((await h.api('GET', '/api/v1/me', undefined, secret)).status).toBe(401);
  });

  it('activation codes and gateway credentials are stored hashed too', async () => {
    const poolId = await h.pool();
    const created = await h.api<{ id: string; code: string; codePrefix: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 3 });
    const code = created.body.code;
    expect(code).toMatch(/^FLAC-([0-9A-Z]{4}-){4}[0-9A-Z]{4}$/);
    const [row] = await h.db.database.sql<{ code_hash: string; code_prefix: string }[]>`select code_hash, code_prefix from activation_codes where id = ${created.body.id}`;
    expect(row).toEqual({ code_hash: sha256(code), code_prefix: code.slice(0, 9) });
    // Only the prefix (the first group) is kept readable; the rest of the code is nowhere.
    expect(await tablesContaining(h, code)).toEqual({});
    expect(await tablesContaining(h, code.slice(10))).toEqual({});
    const listed = await h.api<Record<string, unknown>[]>('GET', `/api/v1/pools/${poolId}/activation-codes`);
    expect(JSON.stringify(listed.body)).not.toContain(code.slice(10));
    expect(listed.body.every((c) => !('code' in c))).toBe(true);

    const gw = await h.enroll(code);
    const [g] = await h.db.database.sql<{ credential_hash: string }[]>`select credential_hash from gateways where id = ${gw.gatewayId}`;
    expect(g?.credential_hash).toBe(sha256(gw.credential));
    const secretPart = gw.credential.split('.')[2]!;
    expect(await tablesContaining(h, secretPart)).toEqual({});
  });
});
