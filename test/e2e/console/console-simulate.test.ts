import postgres from 'postgres';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './axe.js';
import { startBrowser, type TestBrowser } from './browser.js';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'s'.repeat(43)}`;
const MIN = 60_000;

/**
 * Issue 21's what-if replay in the console: from a pool's page, other settings are chosen, the
 * recorded history is replayed and both outcomes are shown side by side. The history is the
 * hand-computed scenario of test/unit/server/replay.test.ts, written into the audit trail:
 * a 100-tag pool with TTL 600 s; A and B ask 60 each, C (priority 5) 30. A is online from the
 * start, B comes online at T−30 min (40 free: queued), A leaves at T+10 min and is back at
 * T+30 min, C arrives at T+15 min. In force (TTL 600 s): A's 60 tags are stranded 10 min
 * (10 tag-hours), reclaimed at T+20 min and A is back 20 min after leaving (a false reclaim);
 * B, C and A's return are queued (3). With TTL 1800 s: 20 tag-hours stranded, no reclaim, 2
 * queued (A comes back to what it still holds). Peak 100 % either way.
 */
describe('console: the what-if replay page', () => {
  let fx: ConsoleFixture;
  let page: Page;
  let poolId: string;
  let viewer: TestBrowser;

  beforeAll(async () => {
    fx = await startConsoleFixture(ADMIN);
    page = fx.page;
    poolId = await fx.pool('plant-replay', { tags: 100, connections: 10 });
    expect((await fx.api('PATCH', `/api/v1/pools/${poolId}`, { leaseTtlSeconds: 600 })).status).toBe(200);
    const [a, b, c] = [await fx.gateway(poolId, 'press-a'), await fx.gateway(poolId, 'press-b'), await fx.gateway(poolId, 'oven-c')];
    const sql = postgres(fx.db.url, { max: 1, onnotice: () => {} });
    try {
      // Allocations and priority written as they stood all along (through the API they would be
      // audited now, at the end of the window, as changes from zero).
      for (const [g, tags, priority] of [[a, 60, 0], [b, 60, 0], [c, 30, 5]] as const) {
        await sql`update gateways set alloc_tags = ${tags}, alloc_connections = 0, priority = ${priority} where id = ${g.id}`;
      }
      const t0 = Date.now() - 2 * 60 * MIN;
      const at = (min: number) => new Date(t0 + min * MIN).toISOString();
      const audit = async (gatewayId: string, action: string, min: number) =>
        sql`insert into audit_events (at, actor, action, pool_id, gateway_id) values (${at(min)}::timestamptz, 'test', ${action}, ${poolId}, ${gatewayId})`;
      await audit(b.id, 'lease.granted', -30);
      await audit(a.id, 'gateway.offline', 10);
      await audit(c.id, 'lease.granted', 15);
      await audit(a.id, 'lease.granted', 30);
    } finally {
      await sql.end();
    }
    const token = await fx.api<{ token: string }>('POST', '/api/v1/tokens', { name: 'viewer-replay', role: 'viewer' });
    expect(token.status).toBe(201);
    viewer = await startBrowser();
    viewer.page.setDefaultTimeout(10_000);
    await viewer.context.addInitScript((t) => sessionStorage.setItem('floatlease.token', t), token.body.token);
  }, 180_000);

  afterAll(async () => {
    await viewer?.close();
    await fx?.close();
  });

  const cell = (figure: string, col: 'inForce' | 'whatIf' | 'change') => page.locator(`[data-sim-figure="${figure}"] [data-col=${col}]`);
  const value = async (figure: string, col: 'inForce' | 'whatIf') => Number(await cell(figure, col).getAttribute('data-value'));

  it('is reached from the pool page, starts from the settings in force, and shows both replays side by side', async () => {
    await page.goto(`${fx.ctl.url}/pools/${poolId}`);
    await page.getByRole('link', { name: 'What-if replay' }).click();
    await page.waitForURL(new RegExp(`/pools/${poolId}/simulate$`));
    const form = page.locator('form[data-sim-form=editable]');
    await form.waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('What-if replay');
    // Every field is found by its label (the labels are the accessible names).
    const ttl = page.getByLabel('Lease lifetime (TTL)');
    expect(await ttl.inputValue()).toBe('600');
    expect(await page.getByLabel('Points of a lost gateway return').inputValue()).toBe('on-expiry');
    expect(await page.getByLabel('Overdraft factor').inputValue()).toBe('1');
    expect(await page.getByLabel('Headroom').inputValue()).toBe('25');
    expect(await page.getByLabel('Longest borrow').inputValue()).toBe('0');
    expect(await page.locator('[data-sim-changed]').getAttribute('data-sim-changed')).toBe('0');

    // Keyboard only: the TTL field, a new value, Enter submits.
    await page.getByLabel('History to replay').selectOption('1');
    await ttl.fill('1800');
    expect(await page.locator('[data-sim-changed]').getAttribute('data-sim-changed')).toBe('1');
    await ttl.press('Enter');
    await page.locator('[data-sim-report=ready]').waitFor();
    // The report takes the focus.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('sim-report-title');

    expect(await value('strandedPointHours.tags', 'inForce')).toBeCloseTo(10, 6);
    expect(await value('strandedPointHours.tags', 'whatIf')).toBeCloseTo(20, 6);
    expect(await value('reclaims', 'inForce')).toBe(1);
    expect(await value('reclaims', 'whatIf')).toBe(0);
    expect(await value('falseReclaims', 'inForce')).toBe(1);
    expect(await value('falseReclaims', 'whatIf')).toBe(0);
    expect(await value('queuedRequests', 'inForce')).toBe(3);
    expect(await value('queuedRequests', 'whatIf')).toBe(2);
    expect(await value('peakUtilization.tags', 'inForce')).toBe(1);
    expect(await value('peakUtilization.tags', 'whatIf')).toBe(1);
    expect(await value('strandedPointHours.connections', 'inForce')).toBe(0);
    // What is shown, in words: figures and the change with its direction.
    expect(await cell('strandedPointHours.tags', 'inForce').textContent()).toBe('10');
    expect(await cell('strandedPointHours.tags', 'change').textContent()).toBe('+10 (worse)');
    expect(await cell('falseReclaims', 'change').textContent()).toBe('−1 (better)');
    expect(await cell('peakUtilization.tags', 'inForce').textContent()).toBe('100 %');
    expect(await cell('peakUtilization.tags', 'change').textContent()).toBe('same');
    // The settings each ran under: only the TTL differs.
    const settings = page.locator('table[data-sim-settings]');
    expect(await settings.locator('[data-sim-setting=ttlSec] [data-col=inForce]').textContent()).toBe('600 s');
    expect(await settings.locator('[data-sim-setting=ttlSec] [data-col=whatIf]').textContent()).toContain('1,800 s');
    expect(await settings.locator('tr[data-changed=true]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-sim-setting')))).toEqual(['ttlSec']);
    expect(await page.locator('[data-sim-summary]').textContent()).toContain('3 gateways, 4 recorded events');
    await fx.browser.screenshot('simulate-report');

    // Reclaim on disconnect with a 60 s grace and overdraft 1.2 (the unit test's third case, here
    // with B queued before: limit 120 serves it at once). A is reclaimed 1 min after leaving.
    await page.getByLabel('Points of a lost gateway return').selectOption('on-disconnect');
    await page.getByLabel('Disconnect grace').fill('60');
    await page.getByLabel('Overdraft factor').fill('1.2');
    await page.getByLabel('Lease lifetime (TTL)').fill('600');
    await page.getByRole('button', { name: 'Run the replay' }).click();
    await expect.poll(() => value('strandedPointHours.tags', 'whatIf')).toBeCloseTo(1, 6);
    expect(await value('reclaims', 'whatIf')).toBe(1);
    expect(await value('falseReclaims', 'whatIf')).toBe(1);
    expect(await value('queuedRequests', 'whatIf')).toBe(1);
    expect(await settings.locator('tr[data-changed=true]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-sim-setting')))).toEqual(['reclaim', 'overdraftFactor']);
  }, 120_000);

  it('has no serious or critical axe violation, light and dark, desktop and phone, and fits 390 px', async () => {
    const problems: string[] = [];
    for (const vp of [{ width: 1440, height: 900 }, { width: 390, height: 844 }]) {
      for (const scheme of ['light', 'dark'] as const) {
        await page.setViewportSize(vp);
        await page.emulateMedia({ colorScheme: scheme });
        await page.goto(`${fx.ctl.url}/pools/${poolId}/simulate`);
        await page.locator('form[data-sim-form=editable]').waitFor();
        expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(scheme);
        await page.getByLabel('Lease lifetime (TTL)').fill('1800');
        await page.getByRole('button', { name: 'Run the replay' }).click();
        await page.locator('[data-sim-report=ready]').waitFor();
        for (const f of await seriousViolations(page)) problems.push(`${vp.width} ${scheme}: ${f.impact} ${f.id} (${f.help}) at ${f.targets.join(' | ')}`);
        if (vp.width === 390) {
          expect(await page.evaluate(() => document.documentElement.scrollWidth), 'the page does not scroll sideways').toBeLessThanOrEqual(390);
          await fx.browser.screenshot(`simulate-phone-${scheme}`);
        }
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
  }, 120_000);

  it('a viewer sees the settings in force read-only and no run button (the controller gives the replay to operators)', async () => {
    const vp = viewer.page;
    await vp.goto(`${fx.ctl.url}/pools/${poolId}/simulate`);
    await vp.locator('form[data-sim-form=read-only]').waitFor();
    expect(await vp.locator('[data-sim-read-only]').textContent()).toContain('needs the operator or administrator role');
    expect(await vp.getByLabel('Lease lifetime (TTL)').inputValue()).toBe('600');
    expect(await vp.getByLabel('Lease lifetime (TTL)').isDisabled()).toBe(true);
    expect(await vp.getByRole('button', { name: 'Run the replay' }).count()).toBe(0);
    expect(await vp.locator('[data-sim-report=none]').textContent()).toContain('No replay run.');
    const problems = (await seriousViolations(vp)).map((f) => `${f.id} at ${f.targets.join(' | ')}`);
    expect(problems, problems.join('\n')).toEqual([]);
    await viewer.screenshot('simulate-viewer');
  }, 60_000);
});
