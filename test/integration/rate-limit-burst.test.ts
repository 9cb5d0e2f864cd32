import { describe, expect, it } from 'vitest';
import { useHarness } from '../helpers/api-harness.js';

const h = useHarness({ rateLimits: { enrollFailuresPerMinute: 3, authFailuresPerMinute: 5 } });

describe('failure rate limits', () => {
  it('never throttle a burst of concurrent valid requests', async () => {
    const burst = await Promise.all(Array.from({ length: 60 }, () => h.api('GET', '/api/v1/pools')));
    expect(burst.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  });

  it('refuse an address after its failures, with Retry-After', async () => {
    for (let i = 0; i < 5; i++) expect((await h.api('GET', '/api/v1/pools', undefined, 'fl_bogusbogusbogusbogusbogus')).status).toBe(401);
    const res = await fetch(`${h.url}/api/v1/pools`, { headers: { authorization: `Bearer fl_bogusbogusbogusbogusbogus` } });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
