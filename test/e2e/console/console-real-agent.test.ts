import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Page, Request, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs, waitExit } from '../../helpers/controller-process.js';
import { freePort, waitFor } from '../../helpers/ports.js';
import type { TestBrowser } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'r'.repeat(43)}`;
const AGENT_MAIN = path.resolve('agent/main.ts');

interface AgentLicense {
  mode: string;
  totalTagCount: number;
  maxConnections: number;
  enabledPlugins: string[];
  gatewayId: string | null;
}

/** The same story with the real agent sidecar: the limit it enforces is read from its own license API. */
describe.skipIf(!existsSync(AGENT_MAIN))('web console with the real agent', () => {
  let fx: ConsoleFixture;
  let browser: TestBrowser;
  let page: Page;
  let agent: ChildProcess;
  let agentUrl = '';
  const license = async () => (await (await fetch(`${agentUrl}/api/license`)).json()) as AgentLicense;

  beforeAll(async () => {
    // Signed in as a returning administrator would be: the token is already in the tab's session.
    fx = await startConsoleFixture(ADMIN);
    ({ browser, page } = fx);
    const poolId = await fx.pool('plant-real', { tags: 100, connections: 10, plugins: ['OPC UA'] });
    const created = await fx.api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 1 });
    expect(created.status, 'activation code').toBe(201);
    await page.goto(`${fx.ctl.url}/gateways`);
    await page.locator('table.gateways[data-state=ready]').waitFor();
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));

    const port = await freePort();
    agentUrl = `http://127.0.0.1:${port}`;
    agent = spawnTs('agent/main.ts', {
      FLOATLEASE_CONTROLLER_URL: fx.ctl.url,
      FLOATLEASE_MQTT_URL: fx.ctl.mqttUrl,
      FLOATLEASE_ACTIVATION_CODE: created.body.code,
      FLOATLEASE_STATE_DIR: path.join(fx.dir, 'agent-state'),
      FLOATLEASE_HARDWARE_ID: 'console-e2e-real-agent',
      FLOATLEASE_GATEWAY_NAME: 'real-press',
      FLOATLEASE_HTTP_PORT: String(port),
      FLOATLEASE_MQTT_KEEPALIVE_SEC: '2',
      LOG_FORMAT: 'json',
    });
    await waitFor('the agent holding a lease', async () => (await license().catch(() => undefined))?.gatewayId, { timeoutMs: 20_000 });
  }, 150_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    if (agent) await waitExit(agent).catch(() => undefined);
    await fx?.close();
  });

  it('shows the enrolled agent online without a reload', async () => {
    await page.locator('tr[data-gateway=real-press][data-online=true]').waitFor();
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  });

  it("raises the allocation in the UI and the agent's license shows the new limit", async () => {
    await page.locator('tr[data-gateway=real-press]').getByRole('button', { name: 'Edit' }).click();
    await page.locator('input[name=tags]').fill('40');
    await page.locator('input[name=connections]').fill('4');
    await page.locator('input[name=plugin][value="OPC UA"]').check();
    // What the page asked the controller meanwhile, to say why should the dialog stay open.
    const calls: string[] = [];
    const t0 = Date.now();
    const onResponse = (r: Response) => void calls.push(`${Date.now() - t0} ms ${r.request().method()} ${new URL(r.url()).pathname} -> ${r.status()}`);
    const onFailed = (r: Request) => void calls.push(`${Date.now() - t0} ms ${r.method()} ${new URL(r.url()).pathname} failed: ${r.failure()?.errorText}`);
    page.on('response', onResponse);
    page.on('requestfailed', onFailed);
    await page.getByRole('button', { name: 'Save' }).click();
    await page
      .locator('[role=dialog]')
      .waitFor({ state: 'detached' })
      .catch(async (err: unknown) => {
        const text = await page.locator('[role=dialog]').textContent({ timeout: 1_000 }).catch(() => '(gone)');
        throw new Error(`the dialog stayed open ${Date.now() - t0} ms after Save; it says: ${text}; requests: ${calls.join('; ')}`, { cause: err });
      })
      .finally(() => {
        page.off('response', onResponse);
        page.off('requestfailed', onFailed);
      });
    const l = await waitFor('the agent to enforce 40 tags', async () => {
      const doc = await license();
      return doc.totalTagCount === 40 ? doc : undefined;
    });
    expect(l).toMatchObject({ mode: 'FLOATING', totalTagCount: 40, maxConnections: 4, enabledPlugins: ['OPC UA'] });
    await browser.screenshot('12-real-agent-gateways');
  });

  it('turns the gateway offline live when the agent process is killed, and the audit trail has it', async () => {
    agent.kill('SIGKILL');
    await page.locator('tr[data-gateway=real-press][data-online=false]').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await page.locator('tr[data-gateway=real-press]').getByRole('link', { name: 'History' }).click();
    const table = page.locator('table.audit');
    for (const action of ['gateway.enrolled', 'allocation.changed', 'gateway.offline']) await table.locator(`tr[data-action="${action}"]`).first().waitFor();
  });
});
