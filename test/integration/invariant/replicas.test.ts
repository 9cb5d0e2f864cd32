import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSweeper } from '../../../server/leases/sweeper.js';
import { buildFleet, STANDARD_POOLS } from './fleet.js';
import { useInvariantHarness } from './invariant-harness.js';
import { formatOutcomes, runMix } from './mix-runner.js';
import { admin, nextOp } from './operations.js';
import { seededRng, seedsToRun } from './prng.js';
import { replicaSet, type ReplicaHandle, type ReplicaSet } from './replicas.js';
import { InvariantSampler } from './sampler.js';

const OPS_PER_SEED = 2000;

const { h, checker } = useInvariantHarness();
let set: ReplicaSet;
let a: ReplicaHandle;
let b: ReplicaHandle;
beforeAll(async () => {
  set = await replicaSet(h.db.url);
  a = await set.start();
  b = await set.start();
});
// Hooks run as a stack: the replicas close before the checker and the harness.
afterAll(async () => {
  await set?.close();
});

/** Sweepers on both replicas, each ticking every `ms`, as two controller processes would run them. */
function sweepers(ms: number) {
  const logger = pino({ level: 'silent' });
  const running = [a, b].map((r) => startSweeper({ intervalMs: ms, leaseHistoryDays: 7, usageHistoryDays: 31, reclaimSkewMarginSec: 5 }, r.db, r.services, logger));
  return { stop: () => Promise.all(running.map((s) => s.stop())) };
}

/** Leases whose expiry was recorded other than exactly once (none expected). */
async function expiryRecordedOtherThanOnce(): Promise<{ lease: string; state: string; events: number }[]> {
  const rows = await checker.sql`
    with events as (
      select subject, count(*)::int as n from audit_events where action = 'lease.expired' group by subject
    )
    select coalesce(l.id::text, e.subject) as lease, coalesce(l.state, 'missing') as state, coalesce(e.n, 0) as events
    from leases l full join events e on e.subject = l.id::text
    where (l.state = 'expired') <> (coalesce(e.n, 0) = 1) or coalesce(e.n, 0) > 1 or l.id is null`;
  return rows.map((r) => ({ lease: r.lease as string, state: r.state as string, events: r.events as number }));
}

describe('two controller replicas on one database', () => {
  for (const seed of seedsToRun([31337])) {
    it(`race a random mix with sweepers on both, and the invariant holds in every snapshot: seed ${seed}`, { timeout: 300_000 }, async () => {
      const fleet = await buildFleet(h, STANDARD_POOLS);
      const rng = seededRng(seed);
      const ops = Array.from({ length: OPS_PER_SEED }, () => nextOp(rng, fleet, 2));
      const sampler = new InvariantSampler(checker.sql);
      const started = performance.now();
      sampler.start();
      const sweeping = sweepers(50);
      const stats = await runMix({ replicas: [a, b], sql: h.db.database.sql, fleet, license: (p) => set.license(p) }, ops, 24);
      await sweeping.stop();
      const result = await sampler.stop();
      const expired = (await checker.sql`select count(*)::int as n from leases where state = 'expired'`)[0]!.n as number;
      console.log(
        `[replicas] seed ${seed}: ${stats.ops} ops over 2 replicas in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
          `${result.snapshots} snapshots; ${expired} leases expired by the sweepers; ${formatOutcomes(stats)}`,
      );
      const replay = `replay with INVARIANT_SEEDS=${seed}`;
      expect(stats.unexpected, replay).toEqual([]);
      expect(result.violations, replay).toEqual([]);
      expect(result.snapshots).toBeGreaterThanOrEqual(20);
      expect(stats.outcomes.get('set/raise:insufficient-points') ?? 0, replay).toBeGreaterThan(0);
      expect(expired).toBeGreaterThan(0);
      expect(await expiryRecordedOtherThanOnce(), replay).toEqual([]);
    });
  }

  it('sweepers on both replicas, plus explicit sweeps in parallel, expire each lease exactly once', async () => {
    const fleet = await buildFleet(h, [{ capacity: { tags: 1000, connections: 100 }, gateways: 20 }]);
    const gateways = fleet.pools[0]!.gateways;
    await Promise.all(gateways.map((g) => a.services.gateways.setAllocation(g, { tags: 10, connections: 1 }, admin)));
    // 10 unacknowledged leases per gateway, all live, half from each replica.
    for (let i = 0; i < 10; i++) await Promise.all(gateways.map((g, j) => ((i + j) % 2 ? a : b).services.leases.grant(g, 'renewal')));
    const due = await checker.sql`update leases set expires_at = now() - interval '1 second' where pool_id = ${fleet.pools[0]!.id} returning id`;
    expect(due).toHaveLength(200);

    const sweeping = sweepers(5);
    const counts = await Promise.all([a, b, a, b, a, b].map((r) => r.services.leaseEndings.sweep(7)));
    await new Promise((r) => setTimeout(r, 50));
    await sweeping.stop();
    expect(counts.reduce((s, n) => s + n, 0)).toBeLessThanOrEqual(200);
    const states = await checker.sql`select state, count(*)::int as n from leases where pool_id = ${fleet.pools[0]!.id} group by state`;
    expect(states.map((r) => [r.state, r.n])).toEqual([['expired', 200]]);
    expect(await expiryRecordedOtherThanOnce()).toEqual([]);
  });

  it('50 raises spread over both replicas for points that fit 15: exactly 15 succeed', async () => {
    const fleet = await buildFleet(h, [{ capacity: { tags: 1000, connections: 100 }, gateways: 51 }]);
    const [holder, ...racers] = fleet.pools[0]!.gateways;
    // Reserved: a reserved allocation is held at once, so these raises race for free points (F2
    // since issue 14); an unreserved one is only an entitlement and never refused for points.
    await a.services.gateways.setAllocation(holder!, { tags: 400, connections: 10, reserved: true }, admin);
    const results = await Promise.allSettled(racers.map((g, i) => (i % 2 ? a : b).services.gateways.setAllocation(g, { tags: 40, connections: 1, reserved: true }, admin)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(15);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ problem: 'insufficient-points' });
    expect((await b.services.pools.get(fleet.pools[0]!.id)).held).toEqual({ tags: 1000, connections: 25 });
  });
});
