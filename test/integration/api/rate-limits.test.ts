import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, randomHardwareId, useHarness } from '../../helpers/api-harness.js';
import { rawRequest } from './route-fixtures.js';

const h = useHarness({ rateLimits: { enrollFailuresPerMinute: 3, authFailuresPerMinute: 5 }, trustProxy: ['loopback'] });

/** The controller trusts X-Forwarded-For from loopback (a local reverse proxy): one address per source. */
const enrollFrom = (source: string, activationCode: string, hardwareId = randomHardwareId()) =>
  rawRequest(h, 'POST', '/api/v1/enroll', { body: JSON.stringify({ activationCode, hardwareId }), headers: { 'x-forwarded-for': source } });

const meFrom = (source: string, token: string) => rawRequest(h, 'GET', '/api/v1/me', { token, headers: { 'x-forwarded-for': source } });

describe('rate limits per source', () => {
  it('after 3 failed enrollments the 4th attempt, even a valid one, gets 429; successes never count; other sources are unaffected', async () => {
    const poolId = await h.pool();
    const code = await h.code(poolId, 50);
    const source = '198.51.100.7';

    // Successful enrollments, many more than the limit, never count.
    for (let i = 0; i < 6; i++) expect((await enrollFrom(source, code)).status).toBe(200);

    const failures = [
      await enrollFrom(source, 'FLAC-0000-0000-0000-0000-0000'), // unknown: 404
      await enrollFrom(source, code, 'not-a-hardware-id'), // invalid: 400
      await enrollFrom(source, 'FLAC-1111-1111-1111-1111-1111'), // unknown: 404
    ];
    expect(failures.map((r) => r.status)).toEqual([404, 400, 404]);

    const limited = await enrollFrom(source, code);
    expect(limited.status).toBe(429);
    expect(limited.contentType).toMatch(/^application\/problem\+json/);
    expect(limited.body.name).toBe('rate-limited');
    expect(limited.body.detail).toMatch(/too many failed enrollments/);

    // Another source still enrolls.
    expect((await enrollFrom('198.51.100.8', code)).status).toBe(200);
    // Enrollment failures do not lock the source out of the authenticated API.
    expect((await meFrom(source, ADMIN_TOKEN)).status).toBe(200);
    const codes = await h.api<{ seatsUsed: number }[]>('GET', `/api/v1/pools/${poolId}/activation-codes`);
    expect(codes.body[0]?.seatsUsed).toBe(7);
  });

  it('after 5 bad bearer tokens the 6th bad one gets 429, a valid token still works; other sources are unaffected', async () => {
    const source = '203.0.113.9';
    // Valid requests never count.
    for (let i = 0; i < 8; i++) expect((await meFrom(source, ADMIN_TOKEN)).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const r = await meFrom(source, `fl_${crypto.randomBytes(32).toString('base64url')}`);
      expect(r.status).toBe(401);
      expect(r.body.name).toBe('unauthorized');
    }
    // Someone else's failures behind the same address never lock out a valid credential (issue 15).
    expect((await meFrom(source, ADMIN_TOKEN)).status).toBe(200);
    const limited = await meFrom(source, `fl_${crypto.randomBytes(32).toString('base64url')}`);
    expect(limited.status).toBe(429);
    expect(limited.contentType).toMatch(/^application\/problem\+json/);
    expect(limited.body.name).toBe('rate-limited');
    expect(limited.body.detail).toMatch(/too many failed authentications/);
    // Bad gateway credentials are limited the same way.
    const agent = await rawRequest(h, 'POST', '/api/v1/agent/lease', {
      body: '{}',
      token: `flg.${crypto.randomUUID()}.${crypto.randomBytes(32).toString('base64url')}`,
      headers: { 'x-forwarded-for': source },
    });
    expect(agent.status).toBe(429);

    expect((await meFrom('203.0.113.10', ADMIN_TOKEN)).status).toBe(200);
  });
});
