import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateways } from '../../../server/db/schema.js';
import { startHarness, type Harness } from '../../helpers/api-harness.js';

let h: Harness;
let rows: { id: string; name: string; hardwareId: string }[] = [];

/**
 * The gateway list's search (issue 20): name, gateway id or hardware id, case-insensitive. A search
 * that cannot be part of a uuid skips the id match (a cost at 10,000 gateways): same rows either way.
 */
beforeAll(async () => {
  h = await startHarness();
  const poolId = await h.pool({ name: 'search-pool', tags: 100, connections: 100 });
  rows = await h.db.database.db
    .insert(gateways)
    .values([
      { poolId, name: 'Line-A press', hardwareId: 'HW-Zeta-0001', credentialHash: 'unused' },
      { poolId, name: 'line-b oven', hardwareId: 'hw-omega-0002', credentialHash: 'unused' },
      { poolId, name: 'packer 100%', hardwareId: 'cafe-0003', credentialHash: 'unused' },
    ])
    .returning({ id: gateways.id, name: gateways.name, hardwareId: gateways.hardwareId });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const search = async (q: string) => {
  const res = await h.api<{ total: number; items: { name: string }[] }>('GET', `/api/v1/gateways?q=${encodeURIComponent(q)}&sort=name`);
  expect(res.status).toBe(200);
  expect(res.body.total).toBe(res.body.items.length);
  return res.body.items.map((g) => g.name).sort();
};

describe('GET /api/v1/gateways?q=', () => {
  it('finds by name and hardware id in any case, and takes % and _ literally', async () => {
    expect(await search('LINE-')).toEqual(['Line-A press', 'line-b oven']);
    expect(await search('zeta')).toEqual(['Line-A press']);
    expect(await search('100%')).toEqual(['packer 100%']);
    expect(await search('line_')).toEqual([]);
    expect(await search('no such gateway')).toEqual([]);
  });

  it('finds by a fragment of the gateway id, upper or lower case, whole or in part', async () => {
    for (const g of rows) {
      expect(await search(g.id)).toEqual([g.name]);
      expect(await search(g.id.slice(9, 23).toUpperCase())).toEqual([g.name]);
    }
    // Hex that is also a hardware id fragment: both matches count.
    expect((await search('cafe')).includes('packer 100%')).toBe(true);
  });
});
