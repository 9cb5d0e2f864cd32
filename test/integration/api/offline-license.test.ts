import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { useHarness } from '../../helpers/api-harness.js';
import type { ProblemBody } from './route-fixtures.js';

const h = useHarness();

interface Points {
  tags: number;
  connections: number;
}
interface OfflineBody extends ProblemBody {
  license: string;
  jti: string;
  seq: number;
  expiresAt: number;
  gatewayId: string;
}
const pool = async (id: string) => (await h.api<{ held: Points; free: Points }>('GET', `/api/v1/pools/${id}`)).body;
const issue = (gatewayId: string, body: Record<string, unknown>, token?: string) =>
  h.api<OfflineBody>('POST', `/api/v1/gateways/${gatewayId}/offline-license`, body, token);

describe('offline license files (issue 17, finding 9)', () => {
  it('issues a lease for the hardware with the longer lifetime, held in the pool until it expires, audited', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const hardwareId = 'q'.repeat(42) + 'A=';
    const gw = await h.enroll(await h.code(poolId), hardwareId);
    expect((await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 40, connections: 3 })).status).toBe(200);
    expect((await pool(poolId)).held).toEqual({ tags: 0, connections: 0 });

    const operator = await h.token('operator');
    const before = Math.floor(Date.now() / 1000);
    const r = await issue(gw.gatewayId, { ttlSeconds: 3 * 24 * 3600 }, operator);
    expect(r.status).toBe(200);
    const claims = decodeJwt(r.body.license);
    expect(claims).toMatchObject({ sub: gw.gatewayId, hwid: hardwareId, pool: poolId, offline: true, points: { tags: 40, connections: 3 }, jti: r.body.jti, seq: r.body.seq });
    expect(claims.exp! - claims.iat!).toBe(3 * 24 * 3600);
    expect(claims.exp).toBeGreaterThanOrEqual(before + 3 * 24 * 3600);
    expect(claims).not.toHaveProperty('disconnectGraceSec');

    // A live lease row: the pool counts its points although the gateway is offline and not reserved.
    expect((await pool(poolId)).held).toEqual({ tags: 40, connections: 3 });
    const rows = await h.db.database.db.$client<{ exp: number; ended_at: Date | null }[]>`select extract(epoch from expires_at)::int as exp, ended_at from leases where id = ${r.body.jti}`;
    expect(rows[0]!.ended_at).toBeNull();
    expect(rows[0]!.exp).toBe(claims.exp);

    const audit = await h.api<{ items: { action: string; actor: string; subject: string; after: Record<string, unknown> }[] }>('GET', `/api/v1/audit?gatewayId=${gw.gatewayId}&action=lease.offline-issued`);
    const row = audit.body.items.find((e) => e.action === 'lease.offline-issued');
    expect(row).toMatchObject({ subject: r.body.jti, after: { reason: 'offline', exp: claims.exp, points: { tags: 40, connections: 3 } } });
    expect(row!.actor).toMatch(/^token:/);

    // The agent's next lease supersedes it when acknowledged: the points follow the new lease.
    const next = await h.api<{ jti: string }>('POST', '/api/v1/agent/lease', {}, gw.credential);
    expect(next.status).toBe(200);
    expect((await h.api('POST', '/api/v1/agent/lease/ack', { jti: next.body.jti }, gw.credential)).status).toBe(200);
    const ended = await h.db.database.db.$client<{ ended_at: Date | null }[]>`select ended_at from leases where id = ${r.body.jti}`;
    expect(ended[0]!.ended_at).not.toBeNull();
  });

  it('the agent reports loading the file: audited lease.offline-loaded once, from the controller\'s lease row; nothing for another gateway', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    const other = await h.enroll(await h.code(poolId));
    expect((await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 30, connections: 2 })).status).toBe(200);
    const file = await issue(gw.gatewayId, { ttlSeconds: 2 * 24 * 3600 }, await h.token('operator'));
    expect(file.status).toBe(200);
    const loadedAt = Math.floor(Date.now() / 1000) - 3600;
    const report = (credential: string, body: unknown) => h.api<{ recorded: boolean } & ProblemBody>('POST', '/api/v1/agent/license-file', body, credential);
    const loadedRows = async (gatewayId: string) =>
      (await h.api<{ items: { action: string; actor: string; subject: string; after: Record<string, unknown> }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&action=lease.offline-loaded`)).body.items;

    // Refused, nothing written: another gateway naming this file, an unknown lease, a malformed body, no credential.
    expect((await report(other.credential, { jti: file.body.jti, loadedAt })).status).toBe(404);
    expect((await report(gw.credential, { jti: '00000000-0000-4000-8000-000000000000', loadedAt })).status).toBe(404);
    for (const bad of [{ jti: 'nope', loadedAt }, { jti: file.body.jti }, { jti: file.body.jti, loadedAt: -1 }, { jti: file.body.jti, loadedAt, seq: 99 }]) {
      expect((await report(gw.credential, bad)).status).toBe(400);
    }
    expect((await h.api('POST', '/api/v1/agent/license-file', { jti: file.body.jti, loadedAt }, null)).status).toBe(401);
    expect(await loadedRows(gw.gatewayId)).toEqual([]);
    expect(await loadedRows(other.gatewayId)).toEqual([]);

    const first = await report(gw.credential, { jti: file.body.jti, loadedAt });
    expect(first.status).toBe(200);
    expect(first.body.recorded).toBe(true);
    // A retried report (the agent did not get the answer) records nothing more.
    expect((await report(gw.credential, { jti: file.body.jti, loadedAt })).body.recorded).toBe(false);
    const rows = await loadedRows(gw.gatewayId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: `gateway:${gw.gatewayId}`,
      subject: file.body.jti,
      after: { seq: file.body.seq, exp: file.body.expiresAt, points: { tags: 30, connections: 2 }, loadedAt, issuedAsFile: true, live: true },
    });

    // A late report (the agent was away; a newer lease superseded the file since) is still recorded, marked not live.
    const file2 = await issue(gw.gatewayId, { ttlSeconds: 3600 }, await h.token('operator'));
    const next = await h.api<{ jti: string }>('POST', '/api/v1/agent/lease', {}, gw.credential);
    expect((await h.api('POST', '/api/v1/agent/lease/ack', { jti: next.body.jti }, gw.credential)).status).toBe(200);
    expect((await report(gw.credential, { jti: file2.body.jti, loadedAt })).body.recorded).toBe(true);
    expect((await loadedRows(gw.gatewayId)).find((r) => r.subject === file2.body.jti)).toMatchObject({ after: { seq: file2.body.seq, issuedAsFile: true, live: false } });
  });

  it('refuses a lifetime over the maximum, a viewer, and an unknown gateway, issuing nothing', async () => {
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(poolId));
    expect((await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 10, connections: 1 })).status).toBe(200);
    expect((await issue(gw.gatewayId, { ttlSeconds: 8 * 24 * 3600 })).status).toBe(400);
    expect((await issue(gw.gatewayId, {}, await h.token('viewer'))).status).toBe(403);
    expect((await issue('00000000-0000-4000-8000-000000000000', {})).status).toBe(404);
    const count = await h.db.database.db.$client<{ n: number }[]>`select count(*)::int as n from leases where gateway_id = ${gw.gatewayId}`;
    expect(count[0]!.n).toBe(0);
    expect((await pool(poolId)).held).toEqual({ tags: 0, connections: 0 });
  });
});
