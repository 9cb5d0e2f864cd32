import { describe, expect, it } from 'vitest';
import { randomHardwareId, useHarness } from '../../helpers/api-harness.js';
import type { ProblemBody } from './route-fixtures.js';

const h = useHarness();

interface Enrolled {
  gatewayId: string;
  poolId: string;
  credential: string;
  reenrolled: boolean;
}
interface CodeView {
  id: string;
  code: string;
  codePrefix: string;
  seats: number;
  seatsUsed: number;
  revokedAt: string | null;
}

const enroll = (activationCode: string, hardwareId: string, currentCredential?: string) =>
  h.api<Enrolled & ProblemBody>('POST', '/api/v1/enroll', { activationCode, hardwareId, ...(currentCredential ? { currentCredential } : {}) }, null);
const lease = (credential: string) => h.api<ProblemBody>('POST', '/api/v1/agent/lease', {}, credential);

async function newCode(poolId: string, body: Record<string, unknown>): Promise<CodeView> {
  const r = await h.api<CodeView>('POST', `/api/v1/pools/${poolId}/activation-codes`, body);
  expect(r.status).toBe(201);
  return r.body;
}

async function codeView(poolId: string, id: string): Promise<CodeView> {
  const list = await h.api<CodeView[]>('GET', `/api/v1/pools/${poolId}/activation-codes`);
  expect(list.status).toBe(200);
  const found = list.body.find((c) => c.id === id);
  expect(found).toBeDefined();
  return found!;
}

describe('enrollment', () => {
  it('ten enrollments from the same hardware use one seat, keep one gateway id and revoke each previous credential', async () => {
    const poolId = await h.pool();
    const code = await newCode(poolId, { seats: 2 });
    const hardwareId = randomHardwareId();
    const results: Enrolled[] = [];
    for (let i = 0; i < 10; i++) {
      // The gateway holds a lease after each round, so re-enrolling it proves possession (issue 15).
      const r = await enroll(code.code, hardwareId, results.at(-1)?.credential);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.reenrolled).toBe(i > 0);
      results.push(r.body);
      // The credential just issued works; the one before it no longer does.
      expect((await lease(r.body.credential)).status).toBe(200);
      const previous = results.at(-2);
      if (previous) {
        const old = await lease(previous.credential);
        expect(old.status).toBe(401);
        expect(old.body.name).toBe('unauthorized');
      }
    }
    expect(new Set(results.map((r) => r.gatewayId)).size).toBe(1);
    expect(new Set(results.map((r) => r.credential)).size).toBe(10);
    expect(results.every((r) => r.poolId === poolId)).toBe(true);
    // Every earlier credential is dead, not only the last one replaced.
    for (const r of results.slice(0, -1)) expect((await lease(r.credential)).status).toBe(401);

    expect((await codeView(poolId, code.id)).seatsUsed).toBe(1);
    const seats = await h.api<{ id: string; hardwareId: string }[]>('GET', `/api/v1/activation-codes/${code.id}/seats`);
    expect(seats.body.map((g) => [g.id, g.hardwareId])).toEqual([[results[0]!.gatewayId, hardwareId]]);
    const gateways = await h.api<{ total: number }>('GET', `/api/v1/gateways?poolId=${poolId}`);
    expect(gateways.body.total).toBe(1);
  });

  it('a code with 3 seats refuses the 4th distinct hardware with 409 activation-code-exhausted, and still re-enrolls a seated one', async () => {
    const poolId = await h.pool();
    const code = await newCode(poolId, { seats: 3 });
    const seated = [randomHardwareId(), randomHardwareId(), randomHardwareId()];
    for (const hw of seated) expect((await enroll(code.code, hw)).status).toBe(200);

    const fourth = await enroll(code.code, randomHardwareId());
    expect(fourth.status).toBe(409);
    expect(fourth.contentType).toMatch(/^application\/problem\+json/);
    expect(fourth.body.name).toBe('activation-code-exhausted');
    expect(fourth.body.detail).toContain(code.codePrefix);
    expect(fourth.body.detail).toMatch(/no free seat \(3 of 3 in use\)/);
    expect(fourth.body).toMatchObject({ seats: 3, seatsUsed: 3 });

    const again = await enroll(code.code, seated[1]!);
    expect(again.status).toBe(200);
    expect(again.body.reenrolled).toBe(true);
    expect((await codeView(poolId, code.id)).seatsUsed).toBe(3);
  });

  it('concurrent enrollments of distinct hardware never exceed the seats', async () => {
    const poolId = await h.pool();
    const code = await newCode(poolId, { seats: 3 });
    const all = await Promise.all(Array.from({ length: 8 }, () => enroll(code.code, randomHardwareId())));
    expect(all.filter((r) => r.status === 200)).toHaveLength(3);
    expect(all.filter((r) => r.status === 409 && r.body.name === 'activation-code-exhausted')).toHaveLength(5);
    expect((await codeView(poolId, code.id)).seatsUsed).toBe(3);
  });

  it('an unknown code gets 404 activation-code-unknown', async () => {
    const r = await enroll('FLAC-0000-0000-0000-0000-0000', randomHardwareId());
    expect(r.status).toBe(404);
    expect(r.contentType).toMatch(/^application\/problem\+json/);
    expect(r.body.name).toBe('activation-code-unknown');
    expect(r.body.detail).toBe('no such activation code');
  });

  it('codes are accepted however a person types them (case, spaces, dashes)', async () => {
    const poolId = await h.pool();
    const code = await newCode(poolId, { seats: 1 });
    const typed = code.code.toLowerCase().replaceAll('-', ' ');
    expect((await enroll(typed, randomHardwareId())).status).toBe(200);
  });

  it('a revoked code gets 410 activation-code-revoked; gateways already enrolled keep working', async () => {
    const poolId = await h.pool();
    const code = await newCode(poolId, { seats: 5 });
    const gw = await enroll(code.code, randomHardwareId());
    const revoked = await h.api<CodeView>('POST', `/api/v1/activation-codes/${code.id}/revoke`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect(revoked.body.seatsUsed).toBe(1);

    const r = await enroll(code.code, randomHardwareId());
    expect(r.status).toBe(410);
    expect(r.body.name).toBe('activation-code-revoked');
    expect(r.body.detail).toContain(code.codePrefix);
    expect((await lease(gw.body.credential)).status).toBe(200);
  });

  it('an expired code gets 410 activation-code-expired', async () => {
    const poolId = await h.pool();
    const code = await newCode(poolId, { seats: 5, expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await enroll(code.code, randomHardwareId())).status).toBe(200);
    await h.db.database.sql`update activation_codes set expires_at = now() - interval '1 second' where id = ${code.id}`;
    const r = await enroll(code.code, randomHardwareId());
    expect(r.status).toBe(410);
    expect(r.body.name).toBe('activation-code-expired');
    expect(r.body.detail).toMatch(/expired at \d{4}-\d\d-\d\dT/);
  });

  it('a code cannot be created already expired', async () => {
    const poolId = await h.pool();
    const r = await h.api<ProblemBody>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 1, expiresAt: '2001-01-01T00:00:00Z' });
    expect(r.status).toBe(400);
    expect(r.body.errors?.map((e) => e.path)).toEqual(['body.expiresAt']);
  });
});
