import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations, contrast, type AxeFinding } from './axe.js';
import { startBrowser, type TestBrowser } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'y'.repeat(43)}`;
const VIEWPORTS = [
  { name: 'desktop', width: 1440, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const SCHEMES = ['light', 'dark'] as const;

/**
 * Issue 20 findings 8 and 9: every console page checked by axe-core at desktop and phone width, in
 * light and dark; the phone layout keeps navigation, pool cards and dialogs on screen; dark mode
 * follows prefers-color-scheme and a toggle; the LICENSED badge reads at 4.5:1 or better.
 */
describe('console accessibility and layout', () => {
  let fx: ConsoleFixture;
  let page: Page;
  let signIn: TestBrowser;
  let gatewayId = '';

  beforeAll(async () => {
    fx = await startConsoleFixture(ADMIN);
    page = fx.page;
    signIn = await startBrowser();
    const pool = await fx.pool('plant-a11y', { tags: 1000, connections: 50, plugins: ['OPC UA'] });
    await fx.pool('plant-a11y-soon', { tags: 100, connections: 10, expiresInSec: 5 * 86_400 });
    const gw = await fx.gateway(pool, 'press-a11y');
    gatewayId = gw.id;
    expect((await fx.api('PUT', `/api/v1/gateways/${gw.id}/allocation`, { tags: 100, connections: 4, plugins: ['OPC UA'] })).status).toBe(200);
    await fx.usage(gw.credential, 150, 2);
    const other = await fx.gateway(pool, 'press-a11y-2');
    await fx.usage(other.credential, 10, 1);
  }, 120_000);

  afterAll(async () => {
    await signIn?.close();
    await fx?.close();
  });

  /** Each page with what must be on screen before it is judged (a page half loaded hides its faults). */
  const pages = () => [
    { path: '/pools', ready: '.pool-card' },
    { path: '/gateways', ready: 'table.gateways[data-state=ready] tbody tr' },
    { path: `/gateways/${gatewayId}`, ready: '[data-field=usageReported], .detail-grid' },
    { path: '/codes', ready: 'main h1' },
    { path: '/audit', ready: 'table.audit[data-state=ready] tbody tr' },
  ];

  const describeFindings = (where: string, found: AxeFinding[]) => found.map((f) => `${where}: ${f.impact} ${f.id} (${f.help}) at ${f.targets.join(' | ')}\n  ${f.summary ?? ''}`);

  it('has no serious or critical axe violation on any page, at 1440×900 and 390×844, light and dark', async () => {
    const problems: string[] = [];
    for (const vp of VIEWPORTS) {
      for (const scheme of SCHEMES) {
        await page.setViewportSize({ width: vp.width, height: vp.height });
        await page.emulateMedia({ colorScheme: scheme });
        for (const p of pages()) {
          await page.goto(`${fx.ctl.url}${p.path}`);
          await page.locator(p.ready).first().waitFor();
          expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(scheme);
          problems.push(...describeFindings(`${p.path} ${vp.name} ${scheme}`, await seriousViolations(page)));
        }
        // The dialogs too: one allocation editor and the bulk allocation dialog.
        await page.goto(`${fx.ctl.url}/gateways`);
        await page.locator('table.gateways[data-state=ready] tbody tr').first().waitFor();
        await page.locator('tr[data-gateway=press-a11y]').getByRole('button', { name: 'Edit' }).click();
        await page.locator('[role=dialog]').waitFor();
        problems.push(...describeFindings(`allocation dialog ${vp.name} ${scheme}`, await seriousViolations(page)));
        await page.getByRole('button', { name: 'Cancel' }).click();
        await page.getByRole('checkbox', { name: 'Select the gateways on this page' }).check();
        await page.getByRole('button', { name: 'Allocate…' }).click();
        await page.locator('[role=dialog]').waitFor();
        problems.push(...describeFindings(`bulk dialog ${vp.name} ${scheme}`, await seriousViolations(page)));
        await page.getByRole('button', { name: 'Cancel' }).click();
        // The sign-in page, in a browser without a session.
        await signIn.page.setViewportSize({ width: vp.width, height: vp.height });
        await signIn.page.emulateMedia({ colorScheme: scheme });
        await signIn.page.goto(`${fx.ctl.url}/pools`);
        await signIn.page.locator('input[type=password], input[name=token]').first().waitFor();
        problems.push(...describeFindings(`sign-in ${vp.name} ${scheme}`, await seriousViolations(signIn.page)));
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  }, 240_000);

  it('keeps the navigation, pool cards and dialogs on screen at 390×844', async () => {
    const W = 390;
    const H = 844;
    await page.setViewportSize({ width: W, height: H });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${fx.ctl.url}/pools`);
    await page.locator('.pool-card').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth), 'the page does not scroll sideways').toBeLessThanOrEqual(W);
    for (const card of await page.locator('.pool-card').all()) {
      const box = (await card.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, 'a pool card fits the screen').toBeLessThanOrEqual(W);
    }
    const links = page.getByRole('navigation', { name: 'Console' }).getByRole('link');
    expect(await links.count()).toBeGreaterThanOrEqual(4);
    for (const link of await links.all()) {
      const box = (await link.boundingBox())!;
      expect(box.x >= 0 && box.x + box.width <= W && box.y >= 0 && box.y + box.height <= H, `${await link.textContent()} is on screen`).toBe(true);
    }
    await fx.browser.screenshot('phone-pools');
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Audit trail' }).click();
    await page.waitForURL(/\/audit$/);

    await page.goto(`${fx.ctl.url}/gateways`);
    await page.locator('table.gateways[data-state=ready] tbody tr').first().waitFor();
    await page.locator('tr[data-gateway=press-a11y]').getByRole('button', { name: 'Edit' }).click();
    const dialog = page.locator('[role=dialog]');
    await dialog.waitFor();
    const box = (await dialog.boundingBox())!;
    expect(box.x >= 0 && box.y >= 0 && box.x + box.width <= W && box.y + box.height <= H, `dialog ${JSON.stringify(box)} fits 390×844`).toBe(true);
    // Its actions can be reached: the footer is inside the screen, not cut off below it.
    await fx.browser.screenshot('phone-allocation-dialog');
    const save = (await dialog.getByRole('button', { name: 'Save' }).boundingBox())!;
    expect(save.y + save.height).toBeLessThanOrEqual(H);
    expect(save.x + save.width).toBeLessThanOrEqual(W);
    await page.getByRole('button', { name: 'Cancel' }).click();
  }, 60_000);

  it('follows prefers-color-scheme, keeps the toggle’s choice, and the LICENSED badge reads at 4.5:1 in both', async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    const badge = async () => {
      await page.goto(`${fx.ctl.url}/pools`);
      const b = page.locator('.badge', { hasText: /^licensed$/i }).first();
      await b.waitFor();
      const [fg, bg] = await b.evaluate((el) => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]);
      return contrast(fg!, bg!);
    };
    const bodyBg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);

    await page.emulateMedia({ colorScheme: 'light' });
    expect(await badge()).toBeGreaterThanOrEqual(4.5);
    const lightBg = await bodyBg();
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.locator('html[data-theme=dark]').waitFor();
    expect(await bodyBg()).not.toBe(lightBg);
    expect(await badge()).toBeGreaterThanOrEqual(4.5);
    await fx.browser.screenshot('dark-pools');

    // The toggle overrides the system and is kept across a reload.
    await page.getByRole('button', { name: 'Switch to light mode' }).click();
    await page.locator('html[data-theme=light]').waitFor();
    await page.reload();
    await page.locator('html[data-theme=light]').waitFor();
    expect(await bodyBg()).toBe(lightBg);
    await page.getByRole('button', { name: 'Switch to dark mode' }).click();
    await page.locator('html[data-theme=dark]').waitFor();
    await page.evaluate(() => localStorage.removeItem('floatlease.theme'));
  }, 60_000);
});
