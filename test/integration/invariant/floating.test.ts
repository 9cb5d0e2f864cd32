import { describe, expect, it } from 'vitest';
import type { GrantDecision } from '../../../server/leases/grant-policy.js';
import { AgentModel, receivedLease } from './agent-model.js';
import { buildFleet, ELASTIC_POOLS } from './fleet.js';
import { takeSnapshot, violations } from './invariant-checker.js';
import { leaseServiceWithPolicy, useInvariantHarness } from './invariant-harness.js';
import { elasticDriver, formatOutcomes, runMix } from './mix-runner.js';
import { admin, nextOp, withIssue21Ops, withPartitions, type Op } from './operations.js';
import { seededRng, seedsToRun } from './prng.js';
import { InvariantSampler } from './sampler.js';

/**
 * Issue 14: the invariant on F2's floating definition. Oversubscribed pools (raises are not
 * refused), offline/online churn, partial and all-or-nothing grants, pending queues, reserved
 * gateways, and partitions (an agent cut off, on-disconnect pools included: the agent drops to
 * trial after the lease's grace since its last contact, the controller frees the points after
 * grace + margin); ≥ 16 workers, 5,000 operations plus the partitions; an independent checker
 * samples the database, and an agent-side model sums what the simulated agents enforce.
 * Issue 21 adds elastic ticks on the mix's clock (resizes, pending timeouts, pre-emption of
 * lower-priority gateways), priority raises and changes, cancels of pending requests, offline
 * borrows (some followed by the planned disconnect) and early returns, from a third rng stream;
 * the deliberately broken pre-emption is in broken-preemption.test.ts.
 *
 * Seeds: 14014 (fixed), 159387572 (failed once in CI on 2026-12-01, not reproduced in 4 replays:
 * the interleaving decides, not the seed; the likely cause is the stale grant clock that random
 * seed 731905 exposed, fixed in grant-batch.ts and pinned by test/integration/grant-clock.test.ts)
 * and one fresh seed per run, printed in the test name; INVARIANT_SEEDS="a,b" replays exact seeds.
 */
const OPS = 5000;
const WORKERS = 16;
/** The on-disconnect pool's grace (the smallest a pool accepts) and the sweeper's skew margin. */
const GRACE_SEC = 5;
const MARGIN_SEC = 1;
const POOLS = ELASTIC_POOLS.map((p) => (p.settings?.reclaim === 'on-disconnect' ? { ...p, settings: { ...p.settings, disconnectGraceSeconds: GRACE_SEC } } : p));

const { h, checker } = useInvariantHarness();

describe('F2 invariant with floating points', () => {
  for (const seed of seedsToRun([14014, 159387572])) {
    // About 2 minutes a seed on an idle 2-core machine; the bound is for a shared, busy one.
    it(`holds in every snapshot and on the agents' side: seed ${seed}`, { timeout: 1_200_000 }, async () => {
      const fleet = await buildFleet(h, POOLS);
      const rng = seededRng(seed);
      const reclaimOnDisconnect = new Set(fleet.pools.filter((_, i) => POOLS[i]!.settings?.reclaim === 'on-disconnect').map((p) => p.id));
      // The base mix is the seed's own stream; partitions come from a second one, so a seed's
      // base sequence is the same as before partitions were added.
      const base: Op[] = Array.from({ length: OPS }, () => nextOp(rng, fleet, 1));
      const ops = withIssue21Ops(withPartitions(base, seededRng(seed ^ 0x5eed14), fleet, reclaimOnDisconnect), seededRng(seed ^ 0x5eed21), fleet);
      const sampler = new InvariantSampler(checker.sql);
      const agents = new AgentModel(fleet);
      let running = true;
      const agentChecks = (async () => {
        while (running) {
          agents.check(Date.now(), sampler.latest());
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      // Whether some pool was oversubscribed at some point of the run (the end state may not be).
      let oversubscribedSeen = false;
      const oversubscription = (async () => {
        while (running) {
          const pools = await Promise.all(fleet.pools.map((p) => h.services.pools.get(p.id)));
          if (pools.some((p) => p.allocated.tags > p.limit.tags)) oversubscribedSeen = true;
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      const started = performance.now();
      sampler.start();
      const stats = await runMix(
        {
          replicas: [{ services: h.services, db: h.db.database.db }],
          sql: h.db.database.sql,
          fleet,
          license: (p) => h.license({ ...p, plugins: [] }),
          reclaimMarginSec: MARGIN_SEC, longPartitionMs: (GRACE_SEC + MARGIN_SEC + 3) * 1000, onDisconnectPools: reclaimOnDisconnect,
          elastic: elasticDriver(h.db.database.db, h.services),
        },
        ops,
        WORKERS,
        { agents },
      );
      running = false;
      await agentChecks;
      await oversubscription;
      const result = await sampler.stop();
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `[floating] seed ${seed}: ${stats.ops} ops in ${seconds.toFixed(1)} s, ${WORKERS} workers; ${result.snapshots} snapshots, ` +
          `${agents.checks} agent-side checks (${agents.staleLimitExcused} not judged: limit change in flight, sum above the snapshot's old limit); ${formatOutcomes(stats)}`,
      );
      const replay = `replay with INVARIANT_SEEDS=${seed}`;
      expect(stats.unexpected, replay).toEqual([]);
      expect(result.violations, replay).toEqual([]);
      expect(agents.violations, replay).toEqual([]);
      expect(stats.ops).toBe(ops.length);
      expect(ops.length).toBeGreaterThan(OPS);
      expect(result.snapshots).toBeGreaterThanOrEqual(20);
      expect(agents.checks).toBeGreaterThanOrEqual(20);
      // The mix was meaningful: oversubscribing raises went through, grants were partial (pending),
      // reserving was refused at times, leases were superseded, presence churned.
      // Partitions cut agents off and on-disconnect leases were reclaimed after grace + margin.
      // Issue 21: elastic resizes, pre-emptions and pending timeouts happened, priority raises and
      // cancels went through, borrows were taken and returned early.
      const issue21 = ['elastic:resized', 'elastic:preempted', 'elastic:timed-out', 'priority/raise:ok', 'priority/change:ok', 'cancel:ok', 'borrow:ok', 'return:returned'];
      for (const k of ['set/raise:ok', 'grant:partial', 'grant:ok', 'ack:ok', 'presence:offline', 'presence:online', 'release:ok', 'partition:cut', 'heal:online', 'grant:partitioned', 'reclaim:reclaimed-some', ...issue21]) {
        expect(stats.outcomes.get(k) ?? 0, `${k} (${replay})`).toBeGreaterThan(0);
      }
      expect(oversubscribedSeen, 'some pool was oversubscribed during the run').toBe(true);
    });
  }

  it('a deliberately broken grant (no free-points check) is caught by the checker and the agent model', { timeout: 180_000 }, async () => {
    const fleet = await buildFleet(h, [{ capacity: { tags: 100, connections: 10 }, gateways: 3 }]);
    // Every contender gets its whole allocation, whatever is free.
    const broken = leaseServiceWithPolicy(h, (_limit, _held, _mode, contenders) =>
      new Map(contenders.filter((c) => c.granting).map((c): [string, GrantDecision] => [c.gatewayId, { points: c.allocation, pending: { tags: 0, connections: 0 } }])),
    );
    const agents = new AgentModel(fleet);
    for (const id of fleet.pools[0]!.gateways) {
      await h.services.gateways.setAllocation(id, { tags: 60, connections: 1 }, admin);
      agents.accept(id, receivedLease(await broken.grant(id, 'grant')));
    }
    const snap = await takeSnapshot(checker.sql);
    expect(violations(undefined, snap).join('\n')).toMatch(/holds 180 tags > limit 100/);
    agents.check(Date.now(), snap);
    expect(agents.violations.join('\n')).toMatch(/enforce 180 tags > limit 100/);
    // The real policy on the same state refuses to add anything.
    const fine = await h.services.leases.grant(fleet.pools[0]!.gateways[0]!, 'renewal');
    expect(fine.pending).toEqual({ tags: 0, connections: 0 }); // it keeps the 60 it holds
  });
});
