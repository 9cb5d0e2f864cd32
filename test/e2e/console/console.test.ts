import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Page } from 'playwright-core';
import { io as ioc } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_NAMESPACE } from '../../../shared/protocol/console-events.js';
import { startControllerProcess, type ControllerProcess } from '../../helpers/controller-process.js';
import { waitFor } from '../../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { createTestVendor, type TestVendor } from '../../helpers/vendor.js';
import { startBrowser, type TestBrowser } from './browser.js';
import { RawMqttAgent } from './raw-agent.js';
import { restClient } from '../../helpers/rest-client.js';

const ADMIN = `fl_${'c'.repeat(43)}`;
const hw = () => crypto.createHash('sha256').update(crypto.randomBytes(8)).digest('base64');

/** One story, in order: each step builds on the one before, as an administrator would. */
describe('web console in headless Chromium', () => {
  let dir: string;
  let vendor: TestVendor;
  let db: TestDatabase;
  let ctl: ControllerProcess;
  let browser: TestBrowser;
  let page: Page;
  let code = '';
  let agent: RawMqttAgent | undefined;
  let gatewayId = '';
  const api = restClient(() => ctl.url, ADMIN);

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-console-'));
    vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    [ctl, browser] = await Promise.all([
      startControllerProcess({ DATABASE_URL: db.url, ADMIN_TOKEN: ADMIN, TRUSTED_ISSUERS: vendor.publicJwkFile }),
      startBrowser(),
    ]);
    page = browser.page;
    page.setDefaultTimeout(10_000);
  }, 90_000);

  afterAll(async () => {
    await agent?.close();
    await browser?.close();
    await ctl?.stop('SIGKILL');
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('serves the console without shadowing the API, probes or deep links', async () => {
    const html = await fetch(`${ctl.url}/gateways?q=x`, { headers: { accept: 'text/html' } });
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('<div id="app">');
    const apiMiss = await fetch(`${ctl.url}/api/v1/nope`, { headers: { accept: 'text/html' } });
    expect(apiMiss.status).toBe(404);
    expect(apiMiss.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${ctl.url}/healthz`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toContain('application/json');
    expect((await fetch(`${ctl.url}/.well-known/jwks.json`, { headers: { accept: 'text/html' } })).headers.get('content-type')).toContain('json');

    const bad = ioc(`${ctl.url}${CONSOLE_NAMESPACE}`, { auth: { token: 'fl_wrong' }, transports: ['websocket'], reconnection: false });
    const err = await new Promise<Error>((resolve) => bad.on('connect_error', resolve));
    bad.close();
    expect(err.message).toBe('unauthorized');
  });

  it('signs in with an API token, and refuses a wrong one in plain words', async () => {
    await page.goto(ctl.url);
    await page.locator('input[name=token]').fill('fl_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('The token was not accepted');
    await page.locator('input[name=token]').fill(ADMIN);
    await browser.screenshot('01-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('h1', { hasText: 'Pools' }).waitFor();
    await page.locator('[data-live=live]').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('floatlease.token'))).toBe(ADMIN);
  });

  it('creates a pool from an uploaded license file', async () => {
    await page.getByRole('button', { name: 'New pool' }).click();
    await page.locator('input[name=name]').fill('plant-berlin');
    await page.locator('input[name=description]').fill('Berlin assembly lines');
    const license = await vendor.license({ tags: 100, connections: 10, plugins: ['OPC UA', 'Modbus TCP'], customer: 'ACME Berlin' });
    await page.locator('input[name=license-file]').setInputFiles({ name: 'berlin.lic', mimeType: 'text/plain', buffer: Buffer.from(license) });
    await page.locator('[data-license-preview]').waitFor();
    expect(await page.locator('[data-license-preview]').textContent()).toContain('100 tags');
    await browser.screenshot('02-pool-create');
    await page.getByRole('button', { name: 'Create pool with license' }).click();
    const card = page.locator('[data-pool=plant-berlin]');
    await card.waitFor();
    await expect.poll(() => card.locator('[data-kind=tags]').textContent()).toContain('0 held of 100');
    expect(await card.textContent()).toContain('ACME Berlin');
    // A second pool whose license has expired shows so loudly.
    const expired = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'plant-old' })).body;
    await api('PUT', `/api/v1/pools/${expired.id}/license`, { license: await vendor.license({ tags: 10, connections: 1, expiresInSec: 2 }) });
    await waitFor('the license expired', async () => (await api<{ license: { expired: boolean } | null }>('GET', `/api/v1/pools/${expired.id}`)).body.license?.expired, { timeoutMs: 15_000, intervalMs: 100 });
    await page.reload();
    await page.locator('[data-pool=plant-old] [data-alert=expired]').waitFor();
    await browser.screenshot('03-pools');
  });

  it('creates an activation code and shows it once, with a copy button', async () => {
    await page.getByRole('link', { name: 'Activation codes' }).first().click();
    await page.getByRole('button', { name: 'New activation code' }).click();
    await page.locator('select[name=pool]').selectOption({ label: 'plant-berlin' });
    await page.locator('input[name=seats]').fill('3');
    await page.locator('input[name=label]').fill('line 1 installers');
    await page.getByRole('button', { name: 'Create code' }).click();
    code = (await page.locator('[data-code]').textContent()) ?? '';
    expect(code.length).toBeGreaterThan(16);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.locator('[data-copied=true]').waitFor();
    await browser.screenshot('04-activation-code-once');
    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    await page.locator('[data-code]').waitFor({ state: 'detached' });
    expect(await page.locator('table.codes').textContent()).not.toContain(code);
    expect(await page.locator('table.codes tbody tr').first().textContent()).toContain('0 / 3');
  });

  it('shows an enrolled agent appear online live on the gateways page', async () => {
    await page.getByRole('link', { name: 'Gateways' }).first().click();
    await page.locator('table.gateways[data-state=ready]').waitFor();
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
    const enrolled = await fetch(`${ctl.url}/api/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ activationCode: code, hardwareId: hw(), name: 'press-07' }),
    });
    expect(enrolled.status).toBe(200);
    const gw = (await enrolled.json()) as { gatewayId: string; credential: string };
    gatewayId = gw.gatewayId;
    agent = await RawMqttAgent.connect(ctl.mqttUrl, gw.gatewayId, gw.credential);
    await waitFor('first lease', () => agent!.latest);
    await page.locator('tr[data-gateway=press-07][data-online=true]').waitFor();
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  });

  it("raises the gateway's allocation in the UI and the agent receives the new limit", async () => {
    const row = page.locator('tr[data-gateway=press-07]');
    await row.getByRole('button', { name: 'Edit' }).click();
    await page.locator('input[name=tags]').fill('60');
    await page.locator('input[name=connections]').fill('6');
    await page.locator('input[name=plugin][value="OPC UA"]').check();
    await browser.screenshot('05-allocation-editor');
    const before = agent!.latest!.seq;
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[role=dialog]').waitFor({ state: 'detached' });
    const lease = await waitFor('pushed lease', () => agent!.leases.find((l) => l.seq > before && l.points.tags === 60), { timeoutMs: 5_000 });
    expect(lease.points).toEqual({ tags: 60, connections: 6 });
    expect(lease.plugins).toEqual(['OPC UA']);
    await expect.poll(() => row.textContent()).toContain('/ 60');
    await browser.screenshot('06-gateways');
  });

  // F2: allocations are entitlements, so a raise the pool cannot serve at once is pending, not refused;
  // only the pool's oversubscription cap refuses it. Cap plant-berlin at 1.0 (every allocation servable).
  it("shows the refusal in plain words when the raise exceeds the pool's oversubscription cap", async () => {
    const pools = (await api<{ id: string; name: string }[]>('GET', '/api/v1/pools')).body;
    const berlin = pools.find((p) => p.name === 'plant-berlin');
    expect(berlin).toBeDefined();
    expect((await api('PATCH', `/api/v1/pools/${berlin!.id}`, { maxOversubscription: 1 })).status).toBe(200);
    const row = page.locator('tr[data-gateway=press-07]');
    await row.getByRole('button', { name: 'Edit' }).click();
    await page.locator('input[name=tags]').fill('500');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.locator('[role=dialog] [role=alert]');
    await alert.waitFor();
    expect(await alert.getAttribute('data-problem')).toBe('oversubscription-cap');
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain("That would exceed the pool's oversubscription cap");
    expect(text).toContain('tags would be 500 allocated > 100');
    await browser.screenshot('07-allocation-refused');
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(agent!.latest!.points.tags).toBe(60);
  });

  it('shows an allocation change made elsewhere without a reload, with the points still held', async () => {
    const row = page.locator('tr[data-gateway=press-07]');
    expect((await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 50, connections: 6, plugins: ['OPC UA'] })).status).toBe(200);
    // The agent has not acknowledged the smaller lease, so the 60 stay held (F2).
    await expect.poll(() => row.textContent()).toContain('/ 50held 60');
    await waitFor('lowered lease', () => agent!.latest!.points.tags === 50);
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  });

  it('turns the gateway offline live when its agent is killed', async () => {
    agent!.kill();
    await page.locator('tr[data-gateway=press-07][data-online=false]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await browser.screenshot('08-gateway-offline');
  });

  it('finds the events in the audit view, filtered by gateway and by action', async () => {
    await page.locator('tr[data-gateway=press-07]').getByRole('link', { name: 'History' }).click();
    const table = page.locator('table.audit');
    await table.locator('tr[data-action="allocation.changed"]').first().waitFor();
    for (const action of ['gateway.enrolled', 'lease.granted', 'gateway.online']) await table.locator(`tr[data-action="${action}"]`).first().waitFor();
    await table.locator('tr[data-action="gateway.offline"]').waitFor();
    expect(await table.locator('tr[data-action="allocation.changed"]').last().textContent()).toContain('tags 0 → 60');
    await browser.screenshot('09-audit');
    await page.locator('input[name=action]').fill('allocation.changed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(async () => (await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action'))))).toEqual([
      'allocation.changed',
      'allocation.changed',
    ]);
    expect(new URL(page.url()).searchParams.get('gatewayId')).toBe(gatewayId);
  });

  it('shows held points on the pool and the used seat on the code', async () => {
    await page.getByRole('link', { name: 'Pools' }).first().click();
    const tags = page.locator('[data-pool=plant-berlin] [data-kind=tags]');
    await expect.poll(() => tags.textContent()).toContain('60 held of 100');
    expect(await tags.textContent()).toContain('in use 12');
    await browser.screenshot('10-pools-in-use');
    await page.getByRole('link', { name: 'Activation codes' }).first().click();
    const row = page.locator('table.codes tbody tr').first();
    await expect.poll(() => row.textContent()).toContain('1 / 3');
    await row.getByRole('button', { name: /1 \/ 3/ }).click();
    await page.locator('.seat-list', { hasText: 'press-07' }).waitFor();
    await browser.screenshot('11-codes');
  });
});
