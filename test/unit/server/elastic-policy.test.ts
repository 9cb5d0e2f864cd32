import { describe, expect, it } from 'vitest';
import { decideResize, elasticTarget, type ElasticGateway, type ElasticPolicy } from '../../../server/elastic/elastic-policy.js';

const policy: ElasticPolicy = { headroom: 0.25, step: 0.5, cooldownSec: 60 };
const NOW = 1_000_000_000;
const gw = (o: Partial<Omit<ElasticGateway, 'usage'>> & { tags: number; usage: number | null }): ElasticGateway => ({
  allocation: { tags: o.tags, connections: 4 },
  usage: o.usage === null ? null : { tags: o.usage, connections: 1 },
  bounds: o.bounds ?? { tags: { min: 10, max: 200 } },
  changedAtMs: o.changedAtMs ?? null,
  lowSinceMs: o.lowSinceMs ?? null,
});
const free = (tags: number) => ({ tags, connections: 100 });

describe('elasticTarget', () => {
  it.each([
    [80, { min: 10, max: 200 }, 100],
    [0, { min: 10, max: 200 }, 10],
    [190, { min: 10, max: 200 }, 200], // capped by max
    [250, { min: 10, max: 200 }, 200], // usage above max: max, not beyond
    [3, { min: 10, max: 200 }, 10],
  ])('usage %i in %o → %i', (usage, b, want) => expect(elasticTarget(usage, b, 0.25)).toBe(want));
});

describe('decideResize', () => {
  const rows: { name: string; g: ElasticGateway; free: number; now?: number; tags: number; lowSince: number | null }[] = [
    { name: 'usage approaching allocation grows to the target', g: gw({ tags: 100, usage: 95 }), free: 500, tags: 119, lowSince: null },
    { name: 'grows to the target in one step when the step allows', g: gw({ tags: 20, usage: 20, bounds: { tags: { min: 10, max: 200 } } }), free: 500, tags: 25, lowSince: null },
    { name: 'growth stops at max', g: gw({ tags: 190, usage: 190 }), free: 500, tags: 200, lowSince: null },
    { name: 'growth takes only free points', g: gw({ tags: 100, usage: 100 }), free: 7, tags: 107, lowSince: null },
    { name: 'no free points: no growth', g: gw({ tags: 100, usage: 100 }), free: 0, tags: 100, lowSince: null },
    { name: 'within the hysteresis band: nothing', g: gw({ tags: 100, usage: 70 }), free: 500, tags: 100, lowSince: null },
    { name: 'low usage starts the low mark, no shrink yet', g: gw({ tags: 100, usage: 20 }), free: 500, tags: 100, lowSince: NOW },
    { name: 'low usage under the cooldown: no shrink', g: gw({ tags: 100, usage: 20, lowSinceMs: NOW - 59_000 }), free: 500, tags: 100, lowSince: NOW - 59_000 },
    { name: 'low past the cooldown shrinks to the target', g: gw({ tags: 100, usage: 20, lowSinceMs: NOW - 60_000 }), free: 500, tags: 25, lowSince: null },
    { name: 'shrink is at most one step', g: gw({ tags: 200, usage: 0, lowSinceMs: NOW - 60_000 }), free: 500, tags: 100, lowSince: null },
    { name: 'shrink stops at min', g: gw({ tags: 30, usage: 0, lowSinceMs: NOW - 60_000 }), free: 500, tags: 10, lowSince: null },
    { name: 'within a cooldown of the last change: nothing (no flapping)', g: gw({ tags: 100, usage: 100, changedAtMs: NOW - 30_000 }), free: 500, tags: 100, lowSince: null },
    { name: 'a cooldown after the last change: grows again', g: gw({ tags: 100, usage: 100, changedAtMs: NOW - 60_000 }), free: 500, tags: 125, lowSince: null },
    { name: 'below a raised min: grows to min', g: gw({ tags: 5, usage: 0, bounds: { tags: { min: 50, max: 200 } } }), free: 500, tags: 50, lowSince: null },
    { name: 'above a lowered max: shrinks, never below usage', g: gw({ tags: 200, usage: 150, lowSinceMs: NOW - 60_000, bounds: { tags: { min: 10, max: 100 } } }), free: 500, tags: 150, lowSince: null },
    { name: 'no usage reported: nothing', g: gw({ tags: 100, usage: null }), free: 500, tags: 100, lowSince: null },
    { name: 'a fixed kind (no bounds) never changes', g: gw({ tags: 100, usage: 100, bounds: {} }), free: 500, tags: 100, lowSince: null },
  ];
  it.each(rows)('$name', ({ g, free: f, now, tags, lowSince }) => {
    const d = decideResize(g, policy, free(f), now ?? NOW);
    expect(d.allocation.tags).toBe(tags);
    expect(d.allocation.connections).toBe(4); // fixed kind untouched
    expect(d.changed).toBe(tags !== g.allocation.tags);
    expect(d.lowSinceMs).toBe(lowSince);
    if (d.changed) expect(d.reason).toMatch(/^tags (grow|shrink) \d+→\d+: \d+ in use/);
  });

  it('never goes below usage nor outside [min, max] on random inputs', () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 5000; i++) {
      const min = rnd(50);
      const max = min + 1 + rnd(300);
      const alloc = rnd(400);
      const usage = rnd(Math.max(1, alloc + 1));
      const g = gw({ tags: alloc, usage, bounds: { tags: { min, max } }, lowSinceMs: rnd(2) ? NOW - 120_000 : null });
      const d = decideResize(g, { headroom: rnd(100) / 100, step: (1 + rnd(100)) / 100, cooldownSec: 60 }, free(rnd(200)), NOW);
      const t = d.allocation.tags;
      if (t < alloc) expect(t).toBeGreaterThanOrEqual(Math.max(usage, Math.min(min, alloc)));
      if (t > alloc) expect(t).toBeLessThanOrEqual(max);
    }
  });
});
