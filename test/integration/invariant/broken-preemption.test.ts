import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { ElasticService } from '../../../server/elastic/elastic-service.js';
import { elasticStore } from '../../../server/elastic/elastic-store.js';
import type { ChangeNotifier } from '../../../server/leases/change-notifier.js';
import { planPoolGrants } from '../../../server/leases/grant-policy.js';
import type { Points } from '../../../server/leases/lease-accounting.js';
import type { LeaseGrant } from '../../../shared/protocol/rest.js';
import { AgentModel, receivedLease } from './agent-model.js';
import { buildFleet } from './fleet.js';
import { takeSnapshot, violations } from './invariant-checker.js';
import { leaseServiceWithPolicy, useInvariantHarness } from './invariant-harness.js';
import { admin } from './operations.js';

/**
 * Issue 21's acceptance: a deliberately broken pre-emption, one that grants the points taken from a
 * lower-priority gateway before that gateway acknowledged its smaller lease, is caught by the
 * independent checker (the victim's unacknowledged lease still counts) and by the agent model (the
 * victim's agent still enforces it). It is injected as the floating test injects a broken grant:
 * a LeaseService with a replaced grant policy, here one that counts every point a gateway holds
 * above its allocation (what a pre-emption cut) as already back in the pool.
 */
const { h, checker } = useInvariantHarness();

const quiet: ChangeNotifier = { gatewayChanged: () => {}, poolChanged: () => {}, pointsFreed: () => {} };

describe('F2 invariant with pre-emption by priority (issue 21)', () => {
  it("a pre-emption that grants before the victim's acknowledgement is caught by the checker and the agent model", { timeout: 120_000 }, async () => {
    // lo: priority 0, elastic tags 10–200; hi: priority 5. The pool's default policy (cooldown 300 s) keeps lo from shrinking by itself.
    const fleet = await buildFleet(h, [{ capacity: { tags: 200, connections: 10 }, gateways: 2, gateway: (i) => (i === 0 ? { priority: 0, elastic: { tags: { min: 10, max: 200 } } } : { priority: 5 }) }]);
    const poolId = fleet.pools[0]!.id;
    const [lo, hi] = fleet.pools[0]!.gateways as [string, string];
    const agents = new AgentModel(fleet);
    const take = (id: string, g: LeaseGrant) => {
      agents.accept(id, receivedLease(g));
      return g;
    };
    for (const id of [lo, hi]) await h.services.presence.set(id, true, 'mqtt');
    await h.services.gateways.setAllocation(lo, { tags: 150, connections: 1 }, admin);
    await h.services.leases.acknowledge(lo, take(lo, await h.services.leases.grant(lo, 'grant')).jti);
    await h.services.gateways.reportUsage(lo, { tags: 20, connections: 1 });
    await h.services.gateways.setAllocation(hi, { tags: 50, connections: 1 }, admin);
    await h.services.leases.acknowledge(hi, take(hi, await h.services.leases.grant(hi, 'grant')).jti);
    // hi raises to 100 with nothing free: 50 wait.
    await h.services.gateways.setAllocation(hi, { tags: 100, connections: 1 }, admin);
    expect((await h.services.leases.grant(hi, 'renewal')).pending).toEqual({ tags: 50, connections: 0 });

    // The tick takes lo's unused headroom: its allocation drops to 100, it still holds 150.
    const elastic = new ElasticService(h.db.database.db, quiet);
    expect((await elastic.tick()).preempted).toBe(1);
    const victim = await h.services.gateways.get(lo);
    expect({ allocation: victim.allocation.tags, held: victim.held.tags }).toEqual({ allocation: 100, held: 150 });
    // The real policy keeps hi waiting until lo acknowledges a smaller lease.
    expect((await h.services.leases.grant(hi, 'renewal')).pending).toEqual({ tags: 50, connections: 0 });

    // The broken one counts what lo owes as back already.
    let owed: Points = { tags: 0, connections: 0 };
    const broken = leaseServiceWithPolicy(h, (limit, held, mode, contenders) =>
      planPoolGrants(limit, { tags: held.tags - owed.tags, connections: held.connections - owed.connections }, mode, contenders),
    );
    const rows = await elasticStore.readPool(h.db.database.db, poolId);
    owed = rows.reduce((o, r) => ({ tags: o.tags + Math.max(0, r.held.tags - r.allocation.tags), connections: o.connections + Math.max(0, r.held.connections - r.allocation.connections) }), owed);
    expect(owed).toEqual({ tags: 50, connections: 0 });
    const early = take(hi, await broken.grant(hi, 'renewal'));
    expect(early.pending).toEqual({ tags: 0, connections: 0 });
    await broken.idle();

    const snap = await takeSnapshot(checker.sql);
    expect(violations(undefined, snap).join('\n')).toMatch(new RegExp(`pool ${poolId} holds 250 tags > limit 200`));
    agents.check(Date.now(), snap);
    expect(agents.violations.join('\n')).toMatch(new RegExp(`agents of pool ${poolId} enforce 250 tags > limit 200`));

    // The order the invariant asks for: lo acknowledges its 100-tag lease, then the pool holds 200 of 200.
    const small = take(lo, await h.services.leases.grant(lo, 'renewal'));
    expect(decodeJwt(small.lease).points).toEqual({ tags: 100, connections: 1 });
    expect((await h.services.leases.acknowledge(lo, small.jti)).acknowledged).toBe(true);
    const after = await takeSnapshot(checker.sql);
    expect(violations(undefined, after)).toEqual([]);
    expect(after.pools.get(poolId)!.held.tags).toBe(200);
    const fresh = new AgentModel(fleet);
    for (const [id, g] of [[lo, small], [hi, early]] as const) fresh.accept(id, receivedLease(g));
    fresh.check(Date.now(), after);
    expect(fresh.violations).toEqual([]);
  });
});
