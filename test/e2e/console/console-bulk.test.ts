import fs from 'node:fs/promises';
import postgres from 'postgres';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleFixture, type ConsoleFixture } from './fixture.js';

const ADMIN = `fl_${'b'.repeat(43)}`;

/** RFC 4180 parser for the test (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\r' && text[i + 1] === '\n') {
      endField();
      rows.push(row);
      row = [];
      i++;
    } else field += ch;
  }
  if (field || row.length) {
    endField();
    rows.push(row);
  }
  return rows;
}

async function download(page: Page, click: () => Promise<void>): Promise<string[][]> {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await file.path();
  return parseCsv(await fs.readFile(path, 'utf8'));
}

/**
 * Issue 20 finding 3 (bulk work, export) and 9 (a code's seats unpaged): 1,000 gateways allocated in
 * one action with the pool limit kept, bulk release, CSV exports with the filtered rows.
 * Gateways are seeded in SQL: 2,500 enrollments over HTTP would be most of the test's time.
 */
describe('console: bulk allocation, bulk release, CSV export, seat paging', () => {
  let fx: ConsoleFixture;
  let page: Page;
  let sql: postgres.Sql;
  let poolId = '';
  let codeId = '';

  beforeAll(async () => {
    fx = await startConsoleFixture(ADMIN);
    page = fx.page;
    sql = postgres(fx.db.url, { max: 2, onnotice: () => undefined });
    poolId = await fx.pool('plant-bulk', { tags: 60_000, connections: 2_000 });
    // Allocations may not exceed the license: the limit a bulk change must respect.
    expect((await fx.api('PATCH', `/api/v1/pools/${poolId}`, { maxOversubscription: 1 })).status).toBe(200);
    await sql`
      insert into gateways (pool_id, name, hardware_id, credential_hash)
      select ${poolId}::uuid, 'bulk-' || lpad(i::text, 4, '0'), 'hw-bulk-' || i, 'seeded' from generate_series(1, 1000) i`;
    // Names an export must escape: a comma and quotes, and one a spreadsheet would run as a formula.
    await sql`insert into gateways (pool_id, name, hardware_id, credential_hash) values
      (${poolId}::uuid, 'other, "quoted"', 'hw-o1', 'seeded'), (${poolId}::uuid, '=HYPERLINK("x")', 'hw-o2', 'seeded')`;
    const seatsPool = await fx.pool('plant-seats', { tags: 100, connections: 10 });
    const code = await fx.api<{ id: string }>('POST', `/api/v1/pools/${seatsPool}/activation-codes`, { seats: 1500 });
    codeId = code.body.id;
    await sql`
      insert into gateways (pool_id, activation_code_id, name, hardware_id, credential_hash, created_at)
      select ${seatsPool}::uuid, ${codeId}::uuid, 'seat-' || lpad(i::text, 4, '0'), 'hw-seat-' || i, 'seeded', now() - (1495 - i) * interval '1 second'
      from generate_series(1, 1495) i`;
  }, 120_000);

  afterAll(async () => {
    await sql?.end();
    await fx?.close();
  });

  const allocated = async () => {
    const rows = await sql<{ name: string; alloc_tags: number }[]>`select name, alloc_tags from gateways where pool_id = ${poolId}::uuid`;
    return rows;
  };

  async function selectAllBulk() {
    await page.goto(`${fx.ctl.url}/gateways?q=bulk-`);
    await page.locator('table.gateways[data-state=ready][data-total="1000"]').waitFor();
    await page.getByRole('checkbox', { name: 'Select the gateways on this page' }).check();
    await page.locator('[data-selected="50"]').waitFor();
    await page.locator('[data-select-all]').click();
    await page.locator('[data-selected="1000"]').waitFor();
  }

  it('selects all 1,000 gateways matching the filter and allocates them in one action, refusing first what the pool cannot take', async () => {
    await selectAllBulk();
    expect(await page.locator('.selection-bar').textContent()).toContain('all gateways matching the filter');
    await page.getByRole('button', { name: 'Allocate…' }).click();
    // 1,000 × 61 = 61,000 tags > the 60,000 the pool allows: refused at the 984th gateway, by 24.
    await page.locator('input[name=tags]').fill('61');
    await page.getByRole('button', { name: 'Apply to 1,000 gateways' }).click();
    const refusal = page.locator('[data-refusal]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe("Refused at gateway bulk-0984: tags over the pool's cap by 24. Nothing was changed.");
    expect((await allocated()).every((g) => g.alloc_tags === 0)).toBe(true);

    await page.locator('input[name=tags]').fill('60');
    await page.getByRole('button', { name: 'Apply to 1,000 gateways' }).click();
    await page.locator('[data-bulk-done]').waitFor();
    expect(await page.locator('[data-bulk-done]').textContent()).toBe('Changed the points of 1,000 gateways.');
    const rows = await allocated();
    expect(rows.filter((g) => g.name.startsWith('bulk-') && g.alloc_tags === 60)).toHaveLength(1000);
    expect(rows.filter((g) => !g.name.startsWith('bulk-')).every((g) => g.alloc_tags === 0)).toBe(true);
    const [audit] = await sql<{ n: number }[]>`select count(*)::int as n from audit_events where action = 'allocation.changed' and pool_id = ${poolId}::uuid`;
    expect(audit!.n).toBe(1000);
    const pool = await fx.api<{ allocated: { tags: number }; capacity: { tags: number } }>('GET', `/api/v1/pools/${poolId}`);
    expect(pool.body.allocated.tags).toBe(60_000);
  }, 90_000);

  it('exports the filtered gateway list, every matching row and not only the page shown, escaped', async () => {
    await page.goto(`${fx.ctl.url}/gateways?q=bulk-09`);
    await page.locator('table.gateways[data-state=ready][data-total="100"]').waitFor();
    expect(await page.locator('table.gateways tbody tr').count()).toBe(50);
    const csv = await download(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
    const [header, ...rows] = csv;
    expect(header!.slice(0, 4)).toEqual(['id', 'name', 'pool_id', 'pool']);
    const name = header!.indexOf('name');
    const tags = header!.indexOf('alloc_tags');
    expect(rows.map((r) => r[name])).toEqual(Array.from({ length: 100 }, (_, i) => `bulk-09${String(i).padStart(2, '0')}`));
    expect(rows.every((r) => r[tags] === '60' && r[header!.indexOf('pool')] === 'plant-bulk')).toBe(true);

    await page.goto(`${fx.ctl.url}/gateways?q=%22`);
    await page.locator('table.gateways[data-state=ready][data-total="2"]').waitFor();
    const odd = await download(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
    expect(odd.slice(1).map((r) => r[1]).sort()).toEqual(["'=HYPERLINK(\"x\")", 'other, "quoted"']);
  }, 60_000);

  it('releases all 1,000 in one action, each audited as a release, and exports the filtered audit trail in full', async () => {
    await selectAllBulk();
    await page.getByRole('button', { name: 'Release…' }).click();
    expect(await page.locator('[data-release-confirm]').textContent()).toContain('Release all points of 1,000 gateways?');
    await page.getByRole('button', { name: 'Release all points of 1,000 gateways' }).click();
    await page.locator('[data-bulk-done]').waitFor();
    expect(await page.locator('[data-bulk-done]').textContent()).toBe('Released 1,000 gateways.');
    expect((await allocated()).every((g) => g.alloc_tags === 0)).toBe(true);

    await page.goto(`${fx.ctl.url}/audit?action=allocation.released`);
    await page.locator('table.audit[data-state=ready] tbody tr').first().waitFor();
    expect(await page.locator('table.audit tbody tr').count()).toBe(50);
    const csv = await download(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
    const [header, ...rows] = csv;
    expect(header).toEqual(['id', 'at', 'actor', 'action', 'pool_id', 'gateway_id', 'subject', 'before', 'after']);
    expect(rows).toHaveLength(1000);
    expect(rows.every((r) => r[3] === 'allocation.released')).toBe(true);
    expect(new Set(rows.map((r) => r[6])).size).toBe(1000);
    expect(JSON.parse(rows[0]![7]!)).toMatchObject({ tags: 60 });
  }, 90_000);

  it("pages a code's 1,495 seats instead of rendering them all", async () => {
    await page.goto(`${fx.ctl.url}/codes`);
    await page.getByRole('button', { name: /1495 \/ 1500/ }).click();
    const seats = page.locator('[data-seats][data-state=ready]');
    await seats.waitFor();
    expect(await seats.locator('.seat-list li').count()).toBe(25);
    expect(await seats.locator('[data-range]').textContent()).toBe('1–25 of 1,495');
    expect(await seats.locator('.seat-list li').first().textContent()).toContain('seat-0001');
    await seats.getByRole('button', { name: 'Next ›' }).click();
    await page.locator('[data-seats][data-state=ready] [data-range]', { hasText: '26–50 of 1,495' }).waitFor();
    expect(await seats.locator('.seat-list li').first().textContent()).toContain('seat-0026');
  }, 60_000);
});
