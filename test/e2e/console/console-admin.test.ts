import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrowser, type TestBrowser } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'a'.repeat(43)}`;

interface PoolBody {
  leaseTtlSeconds: number;
  grantMode: string;
  maxOversubscription: number | null;
  alarmRaiseRatio: number;
  reclaim: string;
}
interface AuditBody {
  items: { action: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null }[];
}

/** Issue 20 finding 4 (pool settings, license history and API tokens were CLI/API only): the admin pages, and what a viewer gets. */
describe('console: pool settings, license history and API tokens', () => {
  let fx: ConsoleFixture;
  let page: Page;
  let poolId: string;
  let viewer: TestBrowser;
  let viewerPage: Page;

  beforeAll(async () => {
    fx = await startConsoleFixture(ADMIN);
    page = fx.page;
    poolId = await fx.pool('plant-admin', { tags: 1000, connections: 100 });
    const gw = await fx.gateway(poolId, 'press-admin');
    expect((await fx.api('PUT', `/api/v1/gateways/${gw.id}/allocation`, { tags: 2500, connections: 3 })).status).toBe(200);
    // A second license: the history has two uploads, 1,000 then 2,000 tags.
    expect((await fx.api('PUT', `/api/v1/pools/${poolId}/license`, { license: await fx.vendor.license({ tags: 2000, connections: 100 }) })).status).toBe(200);
    const token = await fx.api<{ token: string }>('POST', '/api/v1/tokens', { name: 'viewer-for-test', role: 'viewer' });
    expect(token.status).toBe(201);
    viewer = await startBrowser();
    viewerPage = viewer.page;
    viewerPage.setDefaultTimeout(10_000);
    await viewer.context.addInitScript((t) => sessionStorage.setItem('floatlease.token', t), token.body.token);
  }, 120_000);

  afterAll(async () => {
    await viewer?.close();
    await fx?.close();
  });

  it('an administrator edits the pool settings; the controller keeps them and audits the change', async () => {
    await page.goto(`${fx.ctl.url}/pools/${poolId}`);
    const form = page.locator('form[data-settings=editable]');
    await form.waitFor();
    await form.locator('[name=leaseTtlSeconds]').fill('120');
    await form.locator('[name=grantMode]').selectOption('all-or-nothing');
    await form.locator('[name=reclaim]').selectOption('on-disconnect');
    await form.locator('[name=maxOversubscription]').fill('2');
    await form.locator('[name=alarmRaiseRatio]').fill('90');
    await form.getByRole('button', { name: 'Save settings' }).click();
    await page.locator('[data-settings-saved]').waitFor();
    const p = (await fx.api<PoolBody>('GET', `/api/v1/pools/${poolId}`)).body;
    expect(p).toMatchObject({ leaseTtlSeconds: 120, grantMode: 'all-or-nothing', reclaim: 'on-disconnect', maxOversubscription: 2, alarmRaiseRatio: 0.9 });
    const audit = (await fx.api<AuditBody>('GET', `/api/v1/audit?poolId=${poolId}&action=pool.updated`)).body;
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]!.before).toMatchObject({ leaseTtlSeconds: 300 });
    expect(audit.items[0]!.after).toMatchObject({ leaseTtlSeconds: 120 });
  });

  it("a refused setting shows the controller's reason and changes nothing", async () => {
    await page.goto(`${fx.ctl.url}/pools/${poolId}`);
    const form = page.locator('form[data-settings=editable]');
    await form.waitFor();
    // 2,500 tags allocated against a 2,000-tag limit: a cap of 1 × the limit is refused (409).
    await form.locator('[name=maxOversubscription]').fill('1');
    await form.locator('[name=leaseTtlSeconds]').fill('60');
    await form.getByRole('button', { name: 'Save settings' }).click();
    const notice = page.locator('[role=alert][data-problem=oversubscription-cap]');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('tags 2500 allocated > 2000');
    const p = (await fx.api<PoolBody>('GET', `/api/v1/pools/${poolId}`)).body;
    expect(p).toMatchObject({ maxOversubscription: 2, leaseTtlSeconds: 120 });
    // What was typed stays in the form to correct.
    expect(await form.locator('[name=leaseTtlSeconds]').inputValue()).toBe('60');
  });

  it('shows the license history from the audit trail, newest first', async () => {
    await page.goto(`${fx.ctl.url}/pools/${poolId}`);
    const table = page.locator('table[data-license-history]');
    await table.waitFor();
    expect(await table.getAttribute('data-license-history')).toBe('2');
    const rows = await table.locator('tbody tr').allTextContents();
    expect(rows[0]).toMatch(/tags\s*1000\s*→\s*2000/);
    expect(rows[1]).toContain('tags 1000');
    expect(rows[0]).toContain('token:bootstrap-admin');
  });

  it('creates an API token shown once (Escape asks first), which works, and revokes it', async () => {
    await page.goto(`${fx.ctl.url}/tokens`);
    await page.getByRole('button', { name: 'New token' }).click();
    const dialog = page.getByRole('dialog', { name: 'New API token' });
    await dialog.locator('[name=name]').fill('ci-deploy');
    await dialog.locator('[name=role]').selectOption('operator');
    // Escape pressed in the very task that puts the dialog on the page (a MutationObserver's
    // callback runs before the next frame): a listener registered after the frame missed it and
    // the question never came (CI 2026-12-02, on a loaded machine).
    const escapePressed = page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const seen = new MutationObserver(() => {
            if (!document.querySelector('[role=dialog][aria-label="API token created"]')) return;
            seen.disconnect();
            (document.activeElement ?? document.body).dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
            resolve();
          });
          seen.observe(document.body, { childList: true, subtree: true });
        }),
    );
    await dialog.getByRole('button', { name: 'Create token' }).click();
    await escapePressed;
    const shown = page.getByRole('dialog', { name: 'API token created' });
    const secret = (await shown.locator('[data-token-secret]').textContent())!.trim();
    expect(secret).toMatch(/^fl_/);
    // Escape does not lose the secret: it asks, and "Keep it open" keeps it.
    await shown.locator('[data-discard]').waitFor();
    await shown.getByRole('button', { name: 'Keep it open' }).click();
    expect((await shown.locator('[data-token-secret]').textContent())!.trim()).toBe(secret);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.locator('[data-copied=true]').waitFor();
    // The secret really is an operator token.
    const me = await fetch(`${fx.ctl.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { role: string }).role).toBe('operator');
    await shown.getByRole('button', { name: 'Done, I have copied it' }).click();
    // Listed without its secret.
    const row = page.locator('tr[data-token=ci-deploy]');
    await row.waitFor();
    expect(await page.content()).not.toContain(secret);
    const listed = (await fx.api<{ name: string; tokenPrefix: string }[]>('GET', '/api/v1/tokens')).body.find((t) => t.name === 'ci-deploy')!;
    expect(secret.startsWith(listed.tokenPrefix)).toBe(true);
    expect(await row.textContent()).toContain(listed.tokenPrefix);

    await row.getByRole('button', { name: 'Revoke ci-deploy' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke ci-deploy?' });
    expect(await confirm.locator('[data-revoke-confirm]').textContent()).toContain('refused from now on');
    await confirm.getByRole('button', { name: 'Revoke ci-deploy' }).click();
    await row.locator('.badge', { hasText: 'revoked' }).waitFor();
    expect((await fetch(`${fx.ctl.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    await fx.browser.screenshot('tokens-page');
  });

  it('a viewer sees settings read-only, the license history and charts, and no token page', async () => {
    await viewerPage.goto(`${fx.ctl.url}/pools/${poolId}`);
    const ro = viewerPage.locator('dl[data-settings=read-only]');
    await ro.waitFor();
    expect(await viewerPage.locator('form[data-settings=editable]').count()).toBe(0);
    expect(await ro.locator('[data-setting=leaseTtlSeconds]').textContent()).toBe('120 s');
    expect(await ro.locator('[data-setting=grantMode]').textContent()).toBe('all or nothing');
    await viewerPage.locator('table[data-license-history="2"]').waitFor();
    await viewerPage.locator('[data-pool-history]').waitFor();
    expect(await viewerPage.locator('nav a', { hasText: 'API tokens' }).count()).toBe(0);
    await viewerPage.goto(`${fx.ctl.url}/tokens`);
    await viewerPage.locator('[data-tokens=forbidden]').waitFor();
    expect(await viewerPage.getByRole('button', { name: 'New token' }).count()).toBe(0);
    await viewer.screenshot('pool-page-viewer');
  });
});
