import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/api-harness.js';

// Counted in PostgreSQL, as replicas on one database count: the store's rows are what is asserted.
const h = useHarness({ rateLimits: { enrollFailuresPerMinute: 3, authFailuresPerMinute: 5 }, sharedRateLimits: true });

const authRows = async () => h.db.database.sql<{ key: string; hits: number }[]>`select key, hits from rate_limit_hits where key like 'auth:%'`;

describe('failure rate limits', () => {
  it('never throttle a burst of concurrent valid requests, and never count them', async () => {
    const burst = await Promise.all(Array.from({ length: 60 }, () => h.api('GET', '/api/v1/pools')));
    expect(burst.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    // A valid credential writes no counter (it was counted on arrival and un-counted after: two
    // writes per request, at 10,000 gateways the console's every page).
    expect(await authRows()).toEqual([]);
  });

  it('refuse an address after its failures, with Retry-After', async () => {
    for (let i = 0; i < 5; i++) expect((await h.api('GET', '/api/v1/pools', undefined, 'fl_bogusbogusbogusbogusbogus')).status).toBe(401);
    const res = await fetch(`${h.url}/api/v1/pools`, { headers: { authorization: `Bearer fl_bogusbogusbogusbogusbogus` } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    // Over the limit, a valid credential still gets through.
    expect((await h.api('GET', '/api/v1/pools')).status).toBe(200);
  });

  it('a concurrent burst of bad tokens gets exactly the limit of 401s, then 429s', async () => {
    await h.db.database.sql`delete from rate_limit_hits`;
    const burst = await Promise.all(Array.from({ length: 20 }, () => h.api('GET', '/api/v1/pools', undefined, 'fl_wrongwrongwrongwrongwrong')));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect((await authRows()).map((r) => r.hits)).toEqual([20]);
  });
});
