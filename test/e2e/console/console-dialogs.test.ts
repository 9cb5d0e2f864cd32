import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../../helpers/agent-process.js';
import { waitFor } from '../../helpers/ports.js';
import { envOfCommand, startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'d'.repeat(43)}`;

/** Issue 20 findings 1 and 2: the code dialog's command enrolls a real agent; no dialog loses input silently. */
describe('console dialogs: the agent command and closing without losing input', () => {
  let fx: ConsoleFixture;
  let page: Page;
  let agent: AgentProcess | undefined;
  let agentGatewayId = '';

  beforeAll(async () => {
    fx = await startConsoleFixture(ADMIN);
    page = fx.page;
    await fx.pool('plant-dialogs', { tags: 100, connections: 10, plugins: ['OPC UA'] });
  }, 90_000);

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await fx?.close();
  });

  it('asks before Escape or a backdrop click discards the one-time code, and focus returns to the opener', async () => {
    await page.goto(`${fx.ctl.url}/codes`);
    const opener = page.getByRole('button', { name: 'New activation code' });
    await opener.click();
    await page.locator('input[name=seats]').fill('2');
    await page.getByRole('button', { name: 'Create code' }).click();
    const code = page.locator('[data-code]');
    await code.waitFor();
    const shown = await code.textContent();

    await page.keyboard.press('Escape');
    await page.locator('[data-discard]').waitFor();
    expect(await page.locator('[data-discard]').textContent()).toContain('shown only once');
    expect(await code.textContent()).toBe(shown);
    await page.getByRole('button', { name: 'Keep it open' }).click();
    await page.locator('[data-discard]').waitFor({ state: 'detached' });

    await page.mouse.click(5, 5); // the backdrop, outside the dialog
    await page.locator('[data-discard]').waitFor();
    await page.keyboard.press('Escape'); // Escape while asking keeps the dialog
    await page.locator('[data-discard]').waitFor({ state: 'detached' });
    expect(await code.textContent()).toBe(shown);

    // Focus stays inside the dialog however often Tab is pressed.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => !!document.activeElement?.closest('[role=dialog]'))).toBe(true);
    }
    await page.getByRole('button', { name: 'Close', exact: true }).click();
    await page.getByRole('button', { name: 'Discard' }).click();
    await code.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('New activation code');
  });

  it('shows an agent command whose environment really enrolls the agent', async () => {
    await page.getByRole('button', { name: 'New activation code' }).click();
    await page.locator('input[name=seats]').fill('1');
    await page.getByRole('button', { name: 'Create code' }).click();
    const box = page.locator('[data-agent-command][data-ready=true]');
    await box.waitFor();
    const command = ((await box.textContent()) ?? '').trim();
    const code = ((await page.locator('[data-code]').textContent()) ?? '').trim();
    expect(command.endsWith('npm run agent')).toBe(true);
    const env = envOfCommand(command);
    expect(env).toMatchObject({ FLOATLEASE_ACTIVATION_CODE: code, FLOATLEASE_CONTROLLER_URL: fx.ctl.url, FLOATLEASE_MQTT_URL: fx.ctl.mqttUrl });
    await page.getByRole('button', { name: 'Copy command' }).click();
    await page.locator('[data-copied=true]').waitFor();
    await page.getByRole('button', { name: 'Done, I have copied it' }).click();

    agent = spawnAgent({
      ...env,
      FLOATLEASE_STATE_DIR: path.join(fx.dir, 'agent-state'),
      FLOATLEASE_HARDWARE_ID: 'console-dialogs-agent',
      FLOATLEASE_GATEWAY_NAME: 'copied-command',
    });
    const ready = await agent.ready();
    agentGatewayId = ready.gatewayId;
    expect(ready.gatewayId).toMatch(/^[0-9a-f-]{36}$/);
    // Enrolled (a gateway of the controller's), not left alone on the trial allowance without one.
    expect(await agent.license()).toMatchObject({ gatewayId: ready.gatewayId });
    const gw = await fx.api<{ name: string }>('GET', `/api/v1/gateways/${ready.gatewayId}`);
    expect(gw.body.name).toBe('copied-command');
    await page.goto(`${fx.ctl.url}/codes`);
    await page.locator('table.codes tbody tr', { hasText: '1 / 1' }).waitFor();
  });

  it("shows a gateway page whose license fields match the agent's /api/license, and renames and decommissions with confirmation", async () => {
    expect((await fx.api('PUT', `/api/v1/gateways/${agentGatewayId}/allocation`, { tags: 40, connections: 4, plugins: ['OPC UA'] })).status).toBe(200);
    const lic = await waitFor('the agent to enforce 40 tags', async () => {
      const doc = await agent!.license();
      return doc.totalTagCount === 40 ? doc : undefined;
    });
    await page.goto(`${fx.ctl.url}/gateways`);
    await page.locator('tr[data-gateway=copied-command]').getByRole('link', { name: 'copied-command' }).click();
    await page.locator(`[data-gateway-page="${agentGatewayId}"]`).waitFor();
    const field = (name: string) => page.locator(`[data-field=${name}]`).textContent().then((t) => (t ?? '').trim());
    await expect.poll(() => field('seq')).toContain(`#${String(lic.seq)}`);
    expect(await field('licenseType')).toBe(lic.licenseType);
    // The pool license's dates (what the lease carries) come with the pools list, which may load later.
    await expect.poll(() => field('startDate')).toBe(lic.startDate);
    expect(await field('expiredDate')).toBe(lic.expiredDate);
    expect(await field('tags')).toMatch(new RegExp(`/ ${String(lic.totalTagCount)}$`));
    expect(await field('connections')).toMatch(new RegExp(`/ ${String(lic.maxConnections)}$`));
    expect(await field('enabledPlugins')).toBe((lic.enabledPlugins as string[]).join(''));
    expect(await field('hardwareToken')).toBe(lic.hardwareToken);
    expect(await field('transport')).toBe(lic.transport);

    await page.getByRole('button', { name: 'Rename' }).click();
    await page.locator('input[name=name]').fill('renamed-press');
    await page.getByRole('button', { name: 'Rename', exact: true }).last().click();
    await page.locator('h1', { hasText: 'renamed-press' }).waitFor();

    await page.getByRole('button', { name: 'Decommission' }).click();
    expect(await page.locator('[data-decommission-confirm]').textContent()).toContain('credential stops working');
    await page.getByRole('button', { name: 'Decommission renamed-press' }).click();
    await page.locator('.badge', { hasText: 'decommissioned' }).waitFor();
    await page.locator('tr[data-action="gateway.revoked"]').waitFor();
  });

  it('asks before Escape discards what was typed into the New pool form', async () => {
    await page.goto(`${fx.ctl.url}/pools`);
    await page.getByRole('button', { name: 'New pool' }).click();
    await page.locator('input[name=name]').fill('plant-typed');
    await page.locator('input[name=description]').fill('typed, not saved');
    await page.keyboard.press('Escape');
    await page.locator('[data-discard]').waitFor();
    await page.getByRole('button', { name: 'Keep it open' }).click();
    expect(await page.locator('input[name=name]').inputValue()).toBe('plant-typed');
    await page.mouse.click(5, 5);
    await page.getByRole('button', { name: 'Discard' }).click();
    await page.locator('[role=dialog]').waitFor({ state: 'detached' });
    // An untouched form closes at once.
    await page.getByRole('button', { name: 'New pool' }).click();
    await page.keyboard.press('Escape');
    await page.locator('[role=dialog]').waitFor({ state: 'detached' });
  });
});
