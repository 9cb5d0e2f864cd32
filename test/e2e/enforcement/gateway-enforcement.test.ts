import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../../helpers/agent-process.js';
import { startControllerProcess, type ControllerProcess } from '../../helpers/controller-process.js';
import { waitFor } from '../../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { createTestVendor } from '../../helpers/vendor.js';
import { startNeuronSimulator, type NeuronSimulator } from '../../neuronex-sim/index.js';
import { startBrowser, type TestBrowser } from '../console/browser.js';
import { restClient } from '../../helpers/rest-client.js';

const ADMIN = `fl_${'e'.repeat(43)}`;

interface Enforced {
  agent: AgentProcess;
  sim: NeuronSimulator;
  gatewayId: string;
  localUrl: string;
  proxyUrl: string;
  token: string;
}

interface GatewayJson {
  usage: { tags: number; connections: number } | null;
}

const tag = (name: string) => ({ name, address: '1!400001', attribute: 1, type: 3 });
const tags = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => tag(`${prefix}${i}`));

/** Real controller, real agent processes with NeuronEX enforcement, in-process gateway simulators. */
describe('NeuronEX enforcement end to end (real controller, real agents)', () => {
  let dir: string;
  let db: TestDatabase;
  let ctl: ControllerProcess;
  let code: string;
  let browser: TestBrowser | undefined;
  const sims: NeuronSimulator[] = [];
  const agents: AgentProcess[] = [];
  let blockNew: Enforced;
  let stopExcess: Enforced;

  const api = restClient(() => ctl.url, ADMIN);
  const allocate = async (id: string, body: Record<string, unknown>) => {
    const r = await api('PUT', `/api/v1/gateways/${id}/allocation`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  const gw = (e: Enforced) => async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${e.proxyUrl}/api/v2${p}`, {
      method,
      headers: { authorization: `Bearer ${e.token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const startEnforced = async (name: string, policy: 'block-new' | 'stop-excess'): Promise<Enforced> => {
    const sim = await startNeuronSimulator({ maxTags: 100_000, maxNodes: 1_000, enabledPlugins: ['OPC UA'] });
    sims.push(sim);
    const agent = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: ctl.url,
      FLOATLEASE_MQTT_URL: ctl.mqttUrl,
      FLOATLEASE_TRANSPORT: 'mqtt',
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_STATE_DIR: path.join(dir, `state-${name}`),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
      FLOATLEASE_GATEWAY_NAME: name,
      FLOATLEASE_GATEWAY_URL: sim.coreUrl,
      FLOATLEASE_USAGE_INTERVAL_SEC: '1',
      FLOATLEASE_PROXY_PORT: '0',
      FLOATLEASE_OVER_LIMIT_POLICY: policy,
    });
    agents.push(agent);
    const { gatewayId, localUrl } = await agent.ready(60_000);
    const proxyUrl = String(agent.logs.find((l) => l.msg === 'agent ready')?.proxyUrl);
    expect(proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    return { agent, sim, gatewayId, localUrl, proxyUrl, token: await sim.coreToken() };
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-enforcement-e2e-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    [ctl, browser] = await Promise.all([
      startControllerProcess({ DATABASE_URL: db.url, ADMIN_TOKEN: ADMIN, TRUSTED_ISSUERS: vendor.publicJwkFile, SWEEP_INTERVAL_MS: '500' }, { readyTimeoutMs: 90_000 }),
      startBrowser({ width: 1000, height: 760 }),
    ]);
    const poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'enforced', leaseTtlSeconds: 15 })).body.id;
    expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 1000, connections: 50, plugins: ['OPC UA'] }) })).status).toBe(200);
    code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 5 })).body.code;
    [blockNew, stopExcess] = await Promise.all([startEnforced('gw-block-new', 'block-new'), startEnforced('gw-stop-excess', 'stop-excess')]);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await ctl?.stop('SIGKILL');
    await Promise.all(sims.map((s) => s.close()));
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('with 100 tags allocated and 90 in use, the proxy refuses a batch of 20 whole (2405, HTTP 400) and accepts 10; usage reaches the controller', async () => {
    const t0 = Date.now();
    await allocate(blockNew.gatewayId, { tags: 100, connections: 10, plugins: ['OPC UA'] });
    await waitFor('limits applied', async () => (await blockNew.agent.license()).totalTagCount === 100, { timeoutMs: 5_000 });
    const call = gw(blockNew);
    expect((await call('POST', '/node', { name: 'plc1', plugin: 'Modbus TCP' })).body).toEqual({ error: 0 });
    expect((await call('POST', '/group', { name: 'g1', node: 'plc1', interval: 1000 })).body).toEqual({ error: 0 });
    expect((await call('POST', '/tags', { node: 'plc1', group: 'g1', tags: tags('a', 90) })).body).toMatchObject({ error: 0 });
    expect(blockNew.sim.state.tagCount()).toBe(90);
    const twenty = await call('POST', '/tags', { node: 'plc1', group: 'g1', tags: tags('b', 20) });
    expect(twenty.status).toBe(400);
    expect(twenty.body).toMatchObject({ error: 2405 });
    expect(blockNew.sim.state.tagCount()).toBe(90);
    expect((await call('POST', '/tags', { node: 'plc1', group: 'g1', tags: tags('c', 10) })).body).toMatchObject({ error: 0 });
    expect(blockNew.sim.state.tagCount()).toBe(100);
    const t1 = Date.now();
    const usage = await waitFor('usage on the controller', async () => {
      const u = (await api<GatewayJson>('GET', `/api/v1/gateways/${blockNew.gatewayId}`)).body.usage;
      return u?.tags === 100 ? u : undefined;
    }, { timeoutMs: 5_000, intervalMs: 100 });
    expect(usage).toMatchObject({ tags: 100, connections: 1 });
    expect(await blockNew.agent.license()).toMatchObject({ usedTagCount: 100, usedConnections: 1 });
    console.info(`enforcement e2e: usage 100 on the controller ${Date.now() - t1} ms after the batch; scenario in ${Date.now() - t0} ms`);
  });

  it('refuses a node whose plugin the lease does not enable with 2403 (HTTP 200)', async () => {
    const s7 = await gw(blockNew)('POST', '/node', { name: 's7', plugin: 'Siemens S7 ISOTCP' });
    expect(s7).toEqual({ status: 200, body: { error: 2403 } });
    expect(blockNew.sim.state.nodeCount()).toBe(1);
    expect((await gw(blockNew)('POST', '/node', { name: 'opc', plugin: 'OPC UA' })).body).toEqual({ error: 0 });
  });

  it('stop-excess: a forced allocation below usage stops south nodes newest first; raising it starts them again', async () => {
    const e = stopExcess;
    const call = gw(e);
    await allocate(e.gatewayId, { tags: 100, connections: 10, plugins: ['OPC UA'] });
    await waitFor('limits applied', async () => (await e.agent.license()).totalTagCount === 100, { timeoutMs: 5_000 });
    for (let i = 1; i <= 4; i++) {
      expect((await call('POST', '/node', { name: `plc${i}`, plugin: 'Modbus TCP' })).body).toEqual({ error: 0 });
      expect((await call('POST', '/node/setting', { node: `plc${i}`, params: { host: '127.0.0.1', port: 502 } })).body).toEqual({ error: 0 });
      expect((await call('POST', '/group', { name: 'g', node: `plc${i}`, interval: 1000 })).body).toEqual({ error: 0 });
      expect((await call('POST', '/tags', { node: `plc${i}`, group: 'g', tags: tags('t', 10) })).body).toMatchObject({ error: 0 });
    }
    const running = () => e.sim.state.listNodes(1).filter((n) => n.running !== 4).map((n) => n.name);
    expect(running()).toEqual(['plc1', 'plc2', 'plc3', 'plc4']);
    await waitFor('usage 40 on the controller', async () => (await api<GatewayJson>('GET', `/api/v1/gateways/${e.gatewayId}`)).body.usage?.tags === 40);
    const below = await api('PUT', `/api/v1/gateways/${e.gatewayId}/allocation`, { tags: 25, connections: 10, plugins: ['OPC UA'] });
    expect(below.status).toBe(409);
    const t0 = Date.now();
    await allocate(e.gatewayId, { tags: 25, connections: 10, plugins: ['OPC UA'], force: true });
    await waitFor('newest nodes stopped', () => running().length === 2, { timeoutMs: 10_000 });
    console.info(`enforcement e2e: stop-excess stopped 2 nodes ${Date.now() - t0} ms after the forced allocation`);
    expect(running()).toEqual(['plc1', 'plc2']);
    expect(e.sim.state.listNodes(1).map((n) => [n.name, n.running])).toEqual([['plc1', 3], ['plc2', 3], ['plc3', 4], ['plc4', 4]]);
    const t1 = Date.now();
    await allocate(e.gatewayId, { tags: 100, connections: 10, plugins: ['OPC UA'] });
    await waitFor('nodes started again', () => running().length === 4, { timeoutMs: 10_000 });
    console.info(`enforcement e2e: stop-excess restarted them ${Date.now() - t1} ms after the allocation was raised`);
    const controls = () => e.agent.logs.filter((l) => typeof l.node === 'string').map((l) => `${String(l.action)} ${String(l.node)}`);
    await waitFor('node control logged', () => controls().length >= 4);
    expect(controls()).toEqual([
      'stopped plc4',
      'stopped plc3',
      'started plc3',
      'started plc4',
    ]);
  });

  it('the license page in Chromium shows every field as /api/license and the allocation say', async () => {
    if (!browser) throw new Error('no browser');
    const page = browser.page;
    page.setDefaultTimeout(10_000);
    await page.goto(blockNew.localUrl);
    await page.locator('body[data-loaded=true]').waitFor();
    // The page refreshes every second and the agent renews every ttl/3 (5 s): compare the page with an
    // /api/license read that shows the same lease and the current usage (2 connections now).
    // The lease window is kept as read here: a renewal during the checks below would change the page.
    const { lic, leaseWindow } = await waitFor('page in step with the API', async () => {
      const l = await blockNew.agent.license();
      const connections = await page.locator('#connections').textContent();
      const window = await page.locator('#leaseWindow').textContent();
      return connections === '2 / 10' && window?.includes(String(l.leaseExpiresAt)) ? { lic: l, leaseWindow: window } : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    const text = async (id: string) => (await page.locator(`#${id}`).textContent())?.trim();
    expect(lic).toMatchObject({ mode: 'FLOATING', totalTagCount: 100, usedTagCount: 100, maxConnections: 10, usedConnections: 2, enabledPlugins: ['OPC UA'], controllerReachable: true, gatewayId: blockNew.gatewayId });
    expect(await text('licenseType')).toBe('FLOATING');
    expect(await text('startDate')).toBe(lic.startDate);
    expect(await text('expiredDate')).toBe(lic.expiredDate);
    expect(String(lic.startDate)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    // Issue 17 finding 4: Issued At / Expire At are the pool license's (a year), not the 15 s lease window.
    const utc = (d: unknown) => Date.parse(String(d).replace(' ', 'T') + 'Z');
    expect(utc(lic.expiredDate) - Date.now()).toBeGreaterThan(300 * 86_400_000);
    expect(utc(lic.startDate)).toBeLessThanOrEqual(Date.now());
    expect(utc(lic.leaseExpiresAt) - Date.now()).toBeLessThanOrEqual(16_000);
    expect(lic).toMatchObject({ licenseType: 'VIRTUAL', ekuiperOn: true, overUsed: false, customerName: expect.any(String) as unknown });
    expect(leaseWindow).toBe(`${String(lic.leaseIssuedAt)} – ${String(lic.leaseExpiresAt)}`);
    expect(await page.locator('#overUse').isVisible()).toBe(false);
    expect(await text('tags')).toBe('100 / 100');
    expect(await text('connections')).toBe('2 / 10');
    expect(await text('enabledPlugins')).toBe('OPC UA');
    expect(await text('hardwareToken')).toBe(lic.hardwareToken);
    expect(String(lic.hardwareToken).length).toBeGreaterThan(0);
    const secondsLeft = Number(await text('leaseSecondsLeft'));
    expect(secondsLeft).toBeGreaterThan(0);
    expect(secondsLeft).toBeLessThanOrEqual(15);
    expect(await text('controllerReachable')).toBe('yes');
    expect(await text('gatewayId')).toBe(blockNew.gatewayId);
    expect(await page.locator('#trialNote').isVisible()).toBe(false);
    await browser.screenshot('agent-license');
  });

  it('controller unreachable past the lease expiry: API and page fall back to the trial allowance; the 31st connection is refused with 2404', async () => {
    if (!browser) throw new Error('no browser');
    const t0 = Date.now();
    await ctl.stop('SIGKILL');
    const lic = await waitFor('trial fallback', async () => {
      const l = await blockNew.agent.license();
      return l.licenseType === 'TRIAL' ? l : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    console.info(`enforcement e2e: controller killed, agent on the trial allowance after ${Date.now() - t0} ms (lease TTL 15 s)`);
    expect(lic).toMatchObject({ licenseType: 'TRIAL', totalTagCount: 30, maxConnections: 30, enabledPlugins: [], allCommercialPluginsExceptCnc: true, controllerReachable: false });
    const page = browser.page;
    await waitFor('page shows the trial', async () => (await page.locator('#licenseType').textContent()) === 'TRIAL', { timeoutMs: 5_000 });
    expect(await page.locator('#trialNote').isVisible()).toBe(true);
    expect(await page.locator('#controllerReachable').textContent()).toBe('no');
    expect(await page.locator('#tags').textContent()).toBe('100 / 30');
    expect(await page.locator('#enabledPlugins').textContent()).toBe('all except CNC');
    // Over-use (100 tags on 30) is flagged in red on the page and in the API.
    expect(lic).toMatchObject({ overUse: { tags: true, connections: false }, overUsed: true });
    expect(await page.locator('#overUse').isVisible()).toBe(true);
    expect(await page.locator('#tagsRow').getAttribute('class')).toBe('over');
    expect(await page.locator('#tagsBar').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(180, 35, 24)');
    await browser.screenshot('agent-license-trial');
    // Trial: 30 connections. 2 exist; 28 more fit, the 31st is refused. Tags are over (block-new): none added.
    const call = gw(blockNew);
    for (let i = 0; i < 28; i++) expect((await call('POST', '/node', { name: `m${i}`, plugin: 'Modbus TCP' })).body).toEqual({ error: 0 });
    expect(await call('POST', '/node', { name: 'm-31', plugin: 'Modbus TCP' })).toEqual({ status: 200, body: { error: 2404 } });
    expect(blockNew.sim.state.nodeCount()).toBe(30);
    expect((await call('POST', '/tags', { node: 'plc1', group: 'g1', tags: [tag('over')] })).body).toMatchObject({ error: 2405 });
  }, 40_000);
});
