import postgres from 'postgres';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'r'.repeat(43)}`;
const ROWS = 3;

/**
 * Issue 20, filter-to-render at 10,000 gateways: what the gateways page makes the browser lay out
 * and paint besides the new rows. Time is Playwright's fake clock: nothing here waits for it.
 */
describe('console: the gateways page repaints only for news', () => {
  let fx: ConsoleFixture;
  let page: Page;

  beforeAll(async () => {
    fx = await startConsoleFixture(ADMIN);
    page = fx.page;
    const pool = await fx.pool('plant-render', { tags: 1000, connections: 50 });
    const sql = postgres(fx.db.url, { max: 1, onnotice: () => {} });
    try {
      for (let i = 0; i < ROWS; i++) {
        const gw = await fx.gateway(pool, `press-render-${i}`);
        // A live lease with an hour and a few seconds left, as an agent would hold.
        await sql`insert into leases (id, gateway_id, pool_id, seq, kid, tags, connections, plugins, issued_at, expires_at, state)
                  values (gen_random_uuid(), ${gw.id}, ${pool}, 1, 'k', 10, 1, '{}', now(), now() + make_interval(secs => ${3_600 + 7 * i}), 'acknowledged')`;
        await sql`update gateways set lease_seq = 1 where id = ${gw.id}`;
      }
    } finally {
      await sql.end();
    }
    await page.clock.install();
    await page.goto(`${fx.ctl.url}/gateways`);
    await page.locator('table.gateways[data-state=ready] [data-lease-left]').nth(ROWS - 1).waitFor();
    // Installed, the fake clock still flows with real time: from here on it moves only when told.
    await page.clock.pauseAt(Date.now() + 1_000);
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('counts leases down to the minute: ten seconds change no row (each second did, every row)', async () => {
    expect(await page.locator('[data-lease-left]').first().textContent()).toMatch(/^\d+ min #1$/);
    await page.evaluate(() => {
      const w = window as unknown as { leaseMutations: number };
      w.leaseMutations = 0;
      new MutationObserver((records) => (w.leaseMutations += records.length)).observe(document.querySelector('table.gateways tbody')!, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    });
    await page.clock.runFor(10_000);
    // At most one minute boundary per row in ten seconds; per-second text was 10 × ROWS changes.
    expect(await page.evaluate(() => (window as unknown as { leaseMutations: number }).leaseMutations)).toBeLessThanOrEqual(ROWS);
  });

  it('a sort change keeps every column header the same width (the rows are not laid out again)', async () => {
    const widths = () => page.locator('table.gateways th button.sort').evaluateAll((bs) => bs.map((b) => b.getBoundingClientRect().width));
    const before = await widths();
    expect(before.length).toBeGreaterThan(1);
    await page.locator('table.gateways th').getByRole('button', { name: /Presence/ }).click();
    await expect.poll(() => page.locator('table.gateways th[aria-sort=ascending]').count()).toBe(1);
    expect(await page.locator('table.gateways th[aria-sort=ascending]').textContent()).toContain('Presence');
    expect(await widths()).toEqual(before);
    await page.locator('table.gateways th').getByRole('button', { name: /Gateway/ }).click();
    await expect.poll(() => page.locator('table.gateways th button.sort.sorted').textContent()).toContain('Gateway');
    // The rows of that order shown, so the next test starts with no answer still on its way.
    await expect.poll(() => page.locator('table.gateways[data-state=ready]').getAttribute('data-key')).toContain('sort=name');
  });

  it('shows the spinner and dims the rows only when an answer takes longer than 300 ms', async () => {
    const held: Route[] = [];
    await page.route('**/api/v1/gateways?*', (route) => void held.push(route));
    try {
      const table = page.locator('table.gateways');
      const before = await table.getAttribute('data-key');
      await page.locator('input[name=q]').fill('press-render-1');
      await expect.poll(() => held.length).toBe(1);
      await page.clock.runFor(299);
      expect(await page.locator('.spinner.on').count()).toBe(0);
      expect(await table.getAttribute('aria-busy')).not.toBe('true');
      await page.clock.runFor(2);
      await page.locator('.spinner.on').waitFor();
      expect(await table.getAttribute('aria-busy')).toBe('true');
      await held[0]!.continue();
      // The held answer's rows, not any earlier answer's: the key names the search.
      await expect.poll(() => table.getAttribute('data-key')).toContain('q=press-render-1');
      expect(await table.getAttribute('data-key')).not.toBe(before);
      expect(await page.locator('.spinner.on').count()).toBe(0);
      expect(await table.getAttribute('aria-busy')).not.toBe('true');
      expect(await page.locator('table.gateways tbody tr').count()).toBe(1);
    } finally {
      await page.unrouteAll({ behavior: 'ignoreErrors' });
    }
  });
});
