import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../../helpers/agent-process.js';
import { startControllerProcess, type ControllerProcess } from '../../helpers/controller-process.js';
import { waitFor } from '../../helpers/ports.js';
import { restClient } from '../../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { createTestVendor } from '../../helpers/vendor.js';
import { startBrowser, type TestBrowser } from '../console/browser.js';

const ADMIN = `fl_${'d'.repeat(43)}`;
const LOCAL_TOKEN = 'local-admin-token-for-the-test';

// Issue 17 finding 9: NeuronEX's device-side flow (Administration > License > Activation Code) on the
// agent's license page: a person at the device activates with a code, protected by a local credential.
describe('device-side activation on the agent’s license page (real controller, real agent, Chromium)', () => {
  let dir: string;
  let db: TestDatabase;
  let ctl: ControllerProcess;
  let browser: TestBrowser | undefined;
  let agent: AgentProcess;
  let poolId: string;
  let code: string;
  const api = restClient(() => ctl.url, ADMIN);

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-activation-e2e-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    [ctl, browser] = await Promise.all([
      startControllerProcess({ DATABASE_URL: db.url, ADMIN_TOKEN: ADMIN, TRUSTED_ISSUERS: vendor.publicJwkFile }, { readyTimeoutMs: 90_000 }),
      startBrowser({ width: 1000, height: 900 }),
    ]);
    poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'device-activation' })).body.id;
    expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 500, connections: 20, plugins: ['OPC UA'], customer: 'ACME Plant 3' }) })).status).toBe(200);
    code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 2 })).body.code;
    // No activation code in the environment: the device starts unenrolled, on the trial allowance.
    agent = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: ctl.url,
      FLOATLEASE_MQTT_URL: ctl.mqttUrl,
      FLOATLEASE_TRANSPORT: 'mqtt',
      FLOATLEASE_STATE_DIR: path.join(dir, 'state'),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
      FLOATLEASE_GATEWAY_NAME: 'gw-device',
      FLOATLEASE_LOCAL_TOKEN: LOCAL_TOKEN,
    });
    await agent.ready(60_000);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('SIGKILL');
    await ctl?.stop('SIGKILL');
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('the local API refuses activation without the local admin token and changes nothing', async () => {
    const { localUrl } = await agent.ready();
    for (const authorization of [undefined, 'Bearer wrong']) {
      const r = await fetch(`${localUrl}/api/license/activation_code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ activationCode: code }),
      });
      expect(r.status).toBe(401);
    }
    expect(await agent.license()).toMatchObject({ mode: 'TRIAL', gatewayId: null });
  });

  it('activates from the page in Chromium: the page shows the floating license, the controller audits the enrollment', async () => {
    if (!browser) throw new Error('no browser');
    const { localUrl } = await agent.ready();
    const page = browser.page;
    page.setDefaultTimeout(15_000);
    await page.goto(localUrl);
    await page.locator('body[data-loaded=true]').waitFor();
    expect((await page.locator('#licenseType').textContent())?.trim()).toBe('TRIAL');
    // A wrong code: the controller's refusal is shown, nothing enrolled.
    await page.locator('#localToken').fill(LOCAL_TOKEN);
    await page.locator('#activationCode').fill('FLAC-0000-0000-0000-0000-0000');
    await page.locator('#activate').click();
    await waitFor('refusal shown', async () => (await page.locator('#activationResult').getAttribute('class')) === 'err', { timeoutMs: 15_000 });
    expect(await page.locator('#activationResult').textContent()).toMatch(/404/);
    // The right code.
    await page.locator('#activationCode').fill(code);
    await page.locator('#activate').click();
    await waitFor('activation shown', async () => (await page.locator('#activationResult').getAttribute('class')) === 'ok', { timeoutMs: 20_000 });
    const gateways = await api<{ items: { id: string; name: string }[] }>('GET', `/api/v1/gateways?poolId=${poolId}`);
    expect(gateways.body.items).toHaveLength(1);
    const gatewayId = gateways.body.items[0]!.id;
    expect(await page.locator('#activationResult').textContent()).toContain(gatewayId);
    await waitFor('page shows the gateway', async () => (await page.locator('#gatewayId').textContent()) === gatewayId, { timeoutMs: 10_000 });
    // The lease follows (0 points until an admin allocates; then the page shows FLOATING).
    expect((await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 50, connections: 5, plugins: ['OPC UA'] })).status).toBe(200);
    await waitFor('page shows the floating license', async () => (await page.locator('#licenseType').textContent()) === 'FLOATING', { timeoutMs: 20_000 });
    expect(await page.locator('#customerName').textContent()).toBe('ACME Plant 3');
    const audit = await api<{ items: { action: string }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&limit=20`);
    expect(audit.body.items.map((i) => i.action)).toContain('gateway.enrolled');
    await browser.screenshot('agent-license-activated');

    // Re-activation after a lost license (same hardware, the same code): the same gateway, no second seat.
    // The gateway is live (online, holding a lease): the agent proves possession with the credential it
    // holds, so the controller re-binds it without a 409 or an administrator's binding reset.
    expect((await api<{ online: boolean; lease: { state: string } | null }>('GET', `/api/v1/gateways/${gatewayId}`)).body).toMatchObject({ online: true, lease: { state: expect.any(String) } });
    const seqBefore = Number((await agent.license()).seq);
    const again = await fetch(`${localUrl}/api/license/activation_code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${LOCAL_TOKEN}` },
      body: JSON.stringify({ activationCode: code }),
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ gatewayId, reenrolled: true });
    const codes = await api<{ seatsUsed: number }[]>('GET', `/api/v1/pools/${poolId}/activation-codes`);
    expect(codes.body[0]?.seatsUsed).toBe(1);
    const reenrolled = await api<{ items: { action: string; after: Record<string, unknown> }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&action=gateway.reenrolled`);
    expect(reenrolled.body.items[0]?.after).toMatchObject({ proof: 'credential' });
    // The new credential works: the agent gets a fresh lease (a higher seq) and the page stays FLOATING.
    await waitFor('a fresh lease with the new credential', async () => {
      const l = await agent.license();
      return l.mode === 'FLOATING' && Number(l.seq) > seqBefore;
    }, { timeoutMs: 30_000 });
    expect((await page.locator('#licenseType').textContent())?.trim()).toBe('FLOATING');
  }, 120_000);
});
