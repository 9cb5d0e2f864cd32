import postgres from 'postgres';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'a'.repeat(43)}`;
const DAY = 86_400;

interface AuditItem {
  action: string;
  gatewayId: string | null;
  before: Record<string, unknown>;
}

/** Issue 20 findings 5, 6 and 7: over-allocation shown, one attention list, release said and audited as such, audit filters. */
describe('console: attention, release and the audit filters', () => {
  let fx: ConsoleFixture;
  let page: Page;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    fx = await startConsoleFixture(ADMIN);
    page = fx.page;
    const ok = await fx.pool('plant-ok', { tags: 1000, connections: 100 });
    await fx.pool('plant-soon', { tags: 100, connections: 10, expiresInSec: 10 * DAY });
    const over = await fx.pool('plant-over', { tags: 100, connections: 10 });
    // Over-committed: 80 tags held, then a 50-tag license forced in. Reserved, since under F2 only a
    // reserved allocation is held at once (an offline gateway's plain allocation holds nothing).
    const big = await fx.gateway(over, 'press-big');
    expect((await fx.api('PUT', `/api/v1/gateways/${big.id}/allocation`, { tags: 80, connections: 2, reserved: true })).status).toBe(200);
    const small = await fx.vendor.license({ tags: 50, connections: 10 });
    expect((await fx.api('PUT', `/api/v1/pools/${over}/license`, { license: small, force: true })).status).toBe(200);
    // A gateway using 300 tags with none allocated.
    const hot = await fx.gateway(ok, 'press-hot');
    ids.hot = hot.id;
    await fx.usage(hot.credential, 300, 3);
    // A gateway to release: 60 allocated, 50 in use.
    const rel = await fx.gateway(ok, 'press-rel');
    ids.rel = rel.id;
    expect((await fx.api('PUT', `/api/v1/gateways/${rel.id}/allocation`, { tags: 60, connections: 4 })).status).toBe(200);
    await fx.usage(rel.credential, 50, 2);
    // Renewals that would drown the administrative events (as an agent renewing every few seconds writes them).
    const sql = postgres(fx.db.url, { max: 1 });
    try {
      await sql`insert into audit_events (actor, action, pool_id, gateway_id, subject)
                select 'gateway:press-rel', 'lease.renewed', ${ok}, ${rel.id}, 'press-rel' from generate_series(1, 120)`;
    } finally {
      await sql.end();
    }
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('shows a gateway over its allocation with a full red bar that says by how much', async () => {
    await page.goto(`${fx.ctl.url}/gateways`);
    const row = page.locator('tr[data-gateway=press-hot]');
    await row.waitFor();
    const tags = row.locator('.mini').first();
    expect(await tags.getAttribute('data-over')).toBe('true');
    expect(await tags.textContent()).toContain('over by 300');
    // The bar is one element whose fill is a gradient stop at --fill: full, in the refusal red.
    const [fill, image] = await tags.locator('.mini-bar').evaluate((el) => [getComputedStyle(el).getPropertyValue('--fill'), getComputedStyle(el).backgroundImage]);
    expect(fill).toBe('100%');
    expect(image).toMatch(/^linear-gradient\(to right, rgb\(198, 40, 40\) 100%/);
    expect(await tags.locator('[role=meter]').getAttribute('aria-label')).toContain('over the allocation by 300');
  });

  it('has a skip link to the content and says how the gateway table is sorted (aria-sort)', async () => {
    await page.goto(`${fx.ctl.url}/gateways`);
    await page.locator('table.gateways[data-state=ready]').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    const sorts = () => page.locator('table.gateways th:not(.select-col)').evaluateAll((ths) => ths.map((th) => th.getAttribute('aria-sort')));
    expect(await sorts()).toEqual(['ascending', null, 'none', 'none', null, null, null, null]);
    await page.getByRole('button', { name: 'Gateway' }).click();
    await expect.poll(sorts).toEqual(['descending', null, 'none', 'none', null, null, null, null]);
  });

  it('lists everything that needs attention once, and badges agree with the list', async () => {
    await page.goto(`${fx.ctl.url}/pools`);
    const panel = page.locator('[data-attention]');
    await panel.waitFor();
    const kinds = await panel.locator('li').evaluateAll((lis) => lis.map((li) => `${li.getAttribute('data-pool-name')}:${li.getAttribute('data-attention-kind')}`));
    expect(kinds).toEqual(expect.arrayContaining(['plant-over:over-committed', 'plant-soon:license-expiring', 'plant-ok:gateways-over-allocation']));
    expect(kinds.filter((k) => k.startsWith('plant-ok:'))).toEqual(['plant-ok:gateways-over-allocation']);
    expect(await panel.textContent()).toContain('press-hot');
    // The header's count is the list's length.
    expect(Number(await page.locator('[data-attention-count]').getAttribute('data-attention-count'))).toBe(kinds.length);
    // An over-committed pool or an expiring license is not "licensed" in green.
    for (const name of ['plant-over', 'plant-soon']) {
      await page.locator(`[data-pool=${name}] .badge`).first().waitFor();
      expect(await page.locator(`[data-pool=${name}] .badge-ok`).count()).toBe(0);
    }
    expect(await page.locator('[data-pool=plant-soon] .badges').textContent()).toContain('license expiring');
  });

  it('says what a release means before doing it, and audits it as a release', async () => {
    await page.goto(`${fx.ctl.url}/gateways`);
    await page.locator('tr[data-gateway=press-rel]').getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('button', { name: 'Release all points' }).click();
    const confirm = page.locator('[data-release-confirm]');
    await confirm.waitFor();
    const text = (await confirm.textContent()) ?? '';
    expect(text).toContain('It uses 50 tags and 2 connections');
    expect(text).toContain('trial allowance of 30 tags and 30 connections');
    expect(text).toContain('blocked or stopped');
    await page.getByRole('button', { name: 'Release all points of press-rel' }).click();
    await page.locator('[role=dialog]').waitFor({ state: 'detached' });
    const audit = await fx.api<{ items: AuditItem[] }>('GET', `/api/v1/audit?gatewayId=${ids.rel}&hideRenewals=true`);
    const actions = audit.body.items.map((i) => i.action);
    expect(actions).toContain('allocation.released');
    expect(actions).not.toContain('allocation.changed.forced');
    expect(audit.body.items.find((i) => i.action === 'allocation.released')?.before).toMatchObject({ tags: 60, inUse: { tags: 50, connections: 2 } });
  });

  it('filters the audit trail by gateway name, hides renewals, and gives full ids', async () => {
    await page.goto(`${fx.ctl.url}/audit`);
    await page.locator('input[name=gateway]').fill('PRESS-REL');
    await page.getByRole('button', { name: 'Apply' }).click();
    const table = page.locator('table.audit');
    await expect.poll(() => new URL(page.url()).searchParams.get('gateway')).toBe('PRESS-REL');
    await table.locator('tr[data-action="lease.renewed"]').first().waitFor();
    await page.locator('input[name=hideRenewals]').check();
    await expect.poll(() => new URL(page.url()).searchParams.get('hideRenewals')).toBe('true');
    await table.locator('tr[data-action="allocation.released"]').waitFor();
    const actions = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
    expect(actions).not.toContain('lease.renewed');
    expect(actions).toEqual(expect.arrayContaining(['allocation.released', 'allocation.changed', 'gateway.enrolled']));
    const full = await table.locator('[data-full-id]').evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('title')))]);
    expect(full).toEqual([ids.rel]);
    const copy = table.getByRole('button', { name: `Copy id ${ids.rel}` }).first();
    await copy.click();
    await table.locator('[data-copied=true]').first().waitFor();
    // An id typed in the same field filters by id.
    await page.locator('input[name=gateway]').fill(ids.hot!);
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('gatewayId')).toBe(ids.hot);
    await expect.poll(async () => [...new Set(await table.locator('[data-full-id]').evaluateAll((els) => els.map((e) => e.getAttribute('title'))))]).toEqual([ids.hot]);
  });
});
