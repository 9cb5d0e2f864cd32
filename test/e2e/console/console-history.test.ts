import postgres from 'postgres';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryService } from '../../../server/history/history-service.js';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'a'.repeat(43)}`;
const MIN = 60_000;
const HOUR = 60 * MIN;
const STEP = 10 * MIN;

/**
 * Issue 20 "history you can see" and issue 14's pending points: a day of changes is scripted with
 * an injected clock (the test ticks the controller's own rollup through it, no waiting), then the
 * pool page and the gateway page must draw it.
 */
describe('console: usage history charts and pending points', () => {
  let fx: ConsoleFixture;
  let page: Page;
  let poolId: string;
  let press: { id: string; credential: string };
  let ticks = 0;
  let finalAlloc = 0;

  beforeAll(async () => {
    // The controller's own sampler stays out of the way (its first sample an hour after start).
    fx = await startConsoleFixture(ADMIN, { HISTORY_SAMPLE_MS: String(HOUR) });
    page = fx.page;
    poolId = await fx.pool('plant-history', { tags: 1000, connections: 100 });
    // All or nothing: the oven's 200 tags cannot be served from the 60 left, so all 200 wait.
    expect((await fx.api('PATCH', `/api/v1/pools/${poolId}`, { grantMode: 'all-or-nothing' })).status).toBe(200);
    const filler = await fx.gateway(poolId, 'robot-filler');
    expect((await fx.api('PUT', `/api/v1/gateways/${filler.id}/allocation`, { tags: 400, connections: 4, reserved: true })).status).toBe(200);
    press = await fx.gateway(poolId, 'press-history');
    const waiting = await fx.gateway(poolId, 'oven-waiting');
    const sql = postgres(fx.db.url, { max: 1, onnotice: () => {} });
    let now = 0;
    const history = new HistoryService(fx.db.database.db, { now: () => now });
    try {
      const start = Date.now() - 24 * HOUR + 5 * MIN;
      for (let t = start; t < Date.now() - MIN; t += STEP) {
        const k = Math.round((t - start) / STEP);
        // Every two hours the press gets 40 more tags; its use follows, lagging by an hour.
        if (k % 12 === 0) {
          finalAlloc = 100 + 40 * (k / 12);
          expect((await fx.api('PUT', `/api/v1/gateways/${press.id}/allocation`, { tags: finalAlloc, connections: 4, reserved: true })).status).toBe(200);
        }
        if (k % 12 === 6) await fx.usage(press.credential, finalAlloc - 20, 2);
        // In the evening, an online oven asks for 200 tags when 60 are free: all 200 pending.
        if (k === 138) {
          await sql`update gateways set online = true where id = ${waiting.id}`;
          expect((await fx.api('PUT', `/api/v1/gateways/${waiting.id}/allocation`, { tags: 200, connections: 2 })).status).toBe(200);
        }
        now = t;
        await history.tick();
        ticks++;
      }
    } finally {
      await sql.end();
    }
  }, 180_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('the pool page draws the scripted day: held, allocated, in use, pending and limit per kind', async () => {
    await page.goto(`${fx.ctl.url}/pools/${poolId}`);
    const panel = page.locator('[data-pool-history]');
    await expect.poll(async () => Number(await panel.getAttribute('data-pool-history')), { timeout: 10_000 }).toBeGreaterThanOrEqual(ticks);
    const tags = page.locator('figure[data-chart=Tags]');
    for (const series of ['held', 'allocated', 'inUse', 'pending', 'limit']) {
      const path = tags.locator(`path.chart-line[data-series=${series}]`);
      expect(Number(await path.getAttribute('data-points'))).toBeGreaterThanOrEqual(ticks);
      // A real line across the chart, not an empty path.
      const box = await path.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(300);
    }
    // The allocated line climbs during the day: its path goes up (smaller y) from left to right.
    const ys = await tags.locator('path.chart-line[data-series=allocated]').evaluate((p) => {
      const el = p as SVGPathElement;
      const len = el.getTotalLength();
      return [el.getPointAtLength(0).y, el.getPointAtLength(len).y];
    });
    expect(ys[1]!).toBeLessThan(ys[0]!);
    const legend = await tags.locator('.chart-legend').textContent();
    expect(legend).toContain(`allocated ${(400 + finalAlloc + 200).toLocaleString('en-US')}`);
    expect(legend).toContain('pending 200');
    expect(legend).toContain('limit 1,000');
    expect(await tags.locator('svg').getAttribute('aria-label')).toContain('pending 200');
    await fx.browser.screenshot('pool-history-24h');

    await page.getByRole('button', { name: 'Last 30 days' }).click();
    await expect.poll(async () => page.locator('[data-pool-history]').getAttribute('data-pool-history'), { timeout: 10_000 }).toMatch(/^2[4-6]$/);
    expect(Number(await page.locator('figure[data-chart=Tags] path[data-series=held]').getAttribute('data-points'))).toBeGreaterThanOrEqual(24);
    await fx.browser.screenshot('pool-history-30d');
  });

  it('the utilization bars show pending points next to held and allocated, on the card and the pool page', async () => {
    const pool = (await fx.api<{ pending: { tags: number }; held: { tags: number } }>('GET', `/api/v1/pools/${poolId}`)).body;
    expect(pool.pending.tags).toBe(200);
    expect(pool.held.tags).toBe(400 + finalAlloc);
    for (const url of [`${fx.ctl.url}/pools`, `${fx.ctl.url}/pools/${poolId}`]) {
      await page.goto(url);
      const bar = page.locator('.usage[data-kind=tags]').first();
      await bar.waitFor();
      const seg = bar.locator('.fill-pending');
      expect(await seg.getAttribute('data-pending')).toBe('200');
      // It starts where the held fill ends and fills what is left of the limit (60 of 1,000).
      const [held, pending, track] = await Promise.all([bar.locator('.fill-held').boundingBox(), seg.boundingBox(), bar.locator('.track').boundingBox()]);
      expect(pending!.x).toBeCloseTo(held!.x + held!.width, 0);
      expect(pending!.width / track!.width).toBeCloseTo((1000 - 400 - finalAlloc) / 1000, 2);
      expect(await bar.locator('[data-legend=pending]').textContent()).toContain('pending 200');
      expect(await bar.locator('[role=meter]').getAttribute('aria-label')).toContain('200 pending');
    }
  });

  it("the gateway page draws its usage against its allocation over the day", async () => {
    await page.goto(`${fx.ctl.url}/gateways/${press.id}`);
    const panel = page.locator('[data-gateway-history]');
    // One row per change: 12 allocation raises and 12 usage reports (the first tick records the start).
    await expect.poll(async () => Number(await panel.getAttribute('data-gateway-history')), { timeout: 10_000 }).toBeGreaterThanOrEqual(24);
    const tags = panel.locator('figure[data-chart=Tags]');
    expect(Number(await tags.locator('path[data-series=allocated]').getAttribute('data-points'))).toBeGreaterThanOrEqual(12);
    expect(Number(await tags.locator('path[data-series=inUse]').getAttribute('data-points'))).toBeGreaterThanOrEqual(12);
    const legend = await tags.locator('.chart-legend').textContent();
    expect(legend).toContain(`allocated ${finalAlloc}`);
    expect(legend).toContain(`in use ${finalAlloc - 20}`);
    const box = await tags.locator('path.chart-line[data-series=allocated]').boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(300);
    await fx.browser.screenshot('gateway-history-24h');
  });
});
