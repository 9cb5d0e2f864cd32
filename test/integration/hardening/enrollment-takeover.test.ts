import { beforeAll, describe, expect, it } from 'vitest';
import { randomHardwareId, useHarness } from '../../helpers/api-harness.js';

// Issue 15, finding 2: anyone with the pool's activation code and B's hardware id (shown to
// viewers) re-enrolled as B, got a fresh credential, and B's own credential stopped working.
const h = useHarness();
let code: string;
beforeAll(async () => {
  code = await h.code(await h.pool(), 20);
});

type Enrolled = { gatewayId: string; credential: string; reenrolled: boolean };
const enroll = (hardwareId: string, extra: Record<string, unknown> = {}) =>
  h.api<Enrolled & { name?: string }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId, ...extra }, null);
const credentialWorks = async (credential: string) => (await h.services.gatewayAuth.authenticate(credential)) !== undefined;
const lastEnrollAudit = async (gatewayId: string) =>
  (await h.api<{ items: { action: string; after: Record<string, unknown> }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&action=gateway.reenrolled`)).body.items[0];

describe('re-enrollment of a live gateway', () => {
  it.each([
    ['holding a live lease', async (id: string) => void (await h.services.leases.grant(id, 'grant'))],
    ['online', async (id: string) => h.services.presence.set(id, true, 'mqtt')],
  ])('is refused without proof when the gateway is %s; its credential keeps working', async (_label, makeLive) => {
    const hw = randomHardwareId();
    const b = (await enroll(hw)).body;
    await makeLive(b.gatewayId);
    const takeover = await enroll(hw);
    expect(takeover.status, JSON.stringify(takeover.body)).toBe(409);
    expect(await credentialWorks(b.credential)).toBe(true);
    const wrong = await enroll(hw, { currentCredential: `${b.credential.slice(0, -4)}AAAA` });
    expect(wrong.status).toBe(401);
    expect(await credentialWorks(b.credential)).toBe(true);
  });

  it('is allowed with the current credential, and audited with its source and proof', async () => {
    const hw = randomHardwareId();
    const b = (await enroll(hw)).body;
    await h.services.leases.grant(b.gatewayId, 'grant');
    const again = await enroll(hw, { currentCredential: b.credential });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ gatewayId: b.gatewayId, reenrolled: true });
    expect(await credentialWorks(b.credential)).toBe(false);
    expect(await credentialWorks(again.body.credential)).toBe(true);
    const row = await lastEnrollAudit(b.gatewayId);
    expect(row?.after).toMatchObject({ proof: 'credential', source: expect.stringMatching(/127\.0\.0\.1/) });
  });

  it("is allowed after an administrator's binding reset (which ends the old credential), not an operator's", async () => {
    const hw = randomHardwareId();
    const b = (await enroll(hw)).body;
    await h.services.presence.set(b.gatewayId, true, 'mqtt');
    const operator = await h.token('operator');
    expect((await h.api('POST', `/api/v1/gateways/${b.gatewayId}/reset-binding`, undefined, operator)).status).toBe(403);
    expect((await h.api('POST', `/api/v1/gateways/${b.gatewayId}/reset-binding`)).status).toBe(200);
    expect(await credentialWorks(b.credential)).toBe(false);
    const again = await enroll(hw);
    expect(again.status).toBe(200);
    expect((await lastEnrollAudit(b.gatewayId))?.after).toMatchObject({ proof: 'admin-reset' });
  });

  it('an idle gateway (offline, no live lease) still re-enrolls with code and hardware id (agent recovery)', async () => {
    const hw = randomHardwareId();
    const b = (await enroll(hw)).body;
    const again = await enroll(hw);
    expect(again.status).toBe(200);
    expect(again.body.gatewayId).toBe(b.gatewayId);
  });
});

describe('hardware ids', () => {
  it('are shown in full to operators and admins only (gateways, seats, audit)', async () => {
    const hw = randomHardwareId();
    const b = (await enroll(hw)).body;
    const viewer = await h.token('viewer');
    const operator = await h.token('operator');
    const one = await h.api<{ hardwareId: string }>('GET', `/api/v1/gateways/${b.gatewayId}`, undefined, viewer);
    expect(one.body.hardwareId).not.toBe(hw);
    expect(one.body.hardwareId.startsWith(hw.slice(0, 6))).toBe(true);
    const list = await h.api<{ items: { id: string; hardwareId: string }[] }>('GET', '/api/v1/gateways?limit=500', undefined, viewer);
    expect(JSON.stringify(list.body)).not.toContain(hw);
    const audit = await h.api('GET', `/api/v1/audit?gatewayId=${b.gatewayId}`, undefined, viewer);
    expect(JSON.stringify(audit.body)).not.toContain(hw);
    expect((await h.api<{ hardwareId: string }>('GET', `/api/v1/gateways/${b.gatewayId}`, undefined, operator)).body.hardwareId).toBe(hw);
    expect(JSON.stringify((await h.api('GET', `/api/v1/audit?gatewayId=${b.gatewayId}`, undefined, operator)).body)).toContain(hw);
  });
});
