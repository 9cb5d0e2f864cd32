import postgres, { type Sql } from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { guardDriverTypeFetch } from '../../../server/db/driver-type-fetch-guard.js';
import { LeaseService } from '../../../server/leases/lease-service.js';
import { LeaseSigner } from '../../../server/signing/lease-signer.js';
import type { Services } from '../../../server/services.js';
import { LEASE_AUDIENCE } from '../../../shared/protocol/lease-claims.js';
import { startHarness, type Harness } from '../../helpers/api-harness.js';
import { buildFleet, STANDARD_POOLS } from './fleet.js';
import { GatedSigner } from './gated-signer.js';
import { takeSnapshot, violations } from './invariant-checker.js';
import { formatOutcomes, isCancelled, runMix } from './mix-runner.js';
import { admin, nextOp, type MixContext } from './operations.js';
import { backendGone, backendIdleInTransaction, backendWaitingOn, cancel, cancelRandomControllerStatement, gatewayRowLocked, terminate } from './pg-sessions.js';
import { seededRng } from './prng.js';
import { replicaSet, type ReplicaHandle, type ReplicaSet } from './replicas.js';
import { InvariantSampler } from './sampler.js';

/**
 * postgres.js 3.4.9 throws this from a setImmediate (uncatchable, fatal in a real process) when a
 * backend dies while a transaction's statement is in flight, and the connection never sends again
 * (porsager/postgres#1208, #1154). Kills in flight therefore hit a throw-away replica whose pool
 * may break; the healthy replica carries on.
 */
const DRIVER_CRASH = "Cannot read properties of null (reading 'write')";
const uncaught: Error[] = [];
const onUncaught = (err: Error) => uncaught.push(err);
/** Failed array-type lookups of new connections that the controller's guard let pass (see driver-type-fetch-guard.ts). */
let typeFetchFailures = 0;
let unguard: () => void = () => {};

let h: Harness;
/** Test-side control connections (locks, pg_stat_activity, kills); not the controller's. */
let ctl: Sql;
let replicas: ReplicaSet;
let healthy: ReplicaHandle;
beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  unguard = guardDriverTypeFetch({ warn: () => void (typeFetchFailures += 1) });
  h = await startHarness();
  ctl = postgres(h.db.url, { max: 3, onnotice: () => {} });
  replicas = await replicaSet(h.db.url);
  healthy = await replicas.start();
});
afterEach(() => {
  // The driver defect above is the only uncaught error tolerated here.
  expect(uncaught.filter((e) => !e.message.includes(DRIVER_CRASH))).toEqual([]);
  uncaught.length = 0;
});
afterAll(async () => {
  await replicas?.close();
  await ctl?.end();
  await h?.close();
  process.off('uncaughtException', onUncaught);
  unguard();
});

/** Everything the database says about a pool, to compare before and after a crash. */
async function poolState(poolId: string): Promise<unknown> {
  const [row] = await ctl`select
    (select to_jsonb(p) from pools p where id = ${poolId}) as pool,
    (select jsonb_agg(to_jsonb(g) order by g.id) from gateways g where pool_id = ${poolId}) as gateways,
    (select jsonb_agg(to_jsonb(l) order by l.id) from leases l where pool_id = ${poolId}) as leases,
    (select jsonb_agg(to_jsonb(x) order by x.id) from pool_licenses x where pool_id = ${poolId}) as licenses,
    (select count(*) from audit_events where pool_id = ${poolId}) as audit`;
  return row;
}

async function invariantHolds(): Promise<void> {
  expect(violations(undefined, await takeSnapshot(ctl))).toEqual([]);
}

/**
 * Runs `op` and interrupts it at its last statement: every operation writes its audit row last,
 * so with the audit table locked it waits there with all its other writes done. `cancel` fails
 * the statement; `terminate` kills the backend (as a crashed database session would end).
 */
async function interruptedBeforeCommit(mode: 'cancel' | 'terminate', op: () => Promise<unknown>): Promise<unknown> {
  const blocker = await ctl.reserve();
  try {
    await blocker`begin`;
    await blocker`lock table audit_events in share mode`;
    const outcome = op().then(
      () => 'committed',
      (err: unknown) => err,
    );
    const pid = await backendWaitingOn(ctl, 'insert into "audit_events"');
    await (mode === 'cancel' ? cancel(ctl, pid) : terminate(ctl, pid));
    await blocker`rollback`;
    return await outcome;
  } finally {
    blocker.release();
  }
}

type Case = [name: string, op: (s: Services) => Promise<unknown>];

/** A pool where each interruptible operation has real work to do. */
async function stage(): Promise<{ poolId: string; cases: Case[] }> {
  const s = healthy.services;
  const fleet = await buildFleet(h, [{ capacity: { tags: 100, connections: 10 }, gateways: 3 }]);
  const poolId = fleet.pools[0]!.id;
  const [a, b, c] = fleet.pools[0]!.gateways as [string, string, string];
  await s.gateways.setAllocation(a, { tags: 40, connections: 4 }, admin);
  await s.gateways.setAllocation(b, { tags: 30, connections: 3 }, admin);
  const big = await s.leases.grant(a, 'grant');
  await s.leases.acknowledge(a, big.jti);
  await s.gateways.setAllocation(a, { tags: 10, connections: 1 }, admin);
  const small = await s.leases.grant(a, 'renewal');
  await s.leases.grant(b, 'grant');
  const expiring = await s.leases.grant(c, 'grant');
  await ctl`update leases set expires_at = now() - interval '1 second' where id = ${expiring.jti}`;
  const downgrade = await replicas.license({ tags: 50, connections: 5 });
  return {
    poolId,
    cases: [
      ['grant', (r) => r.leases.grant(b, 'renewal')],
      // Reserved: held at once, so the raise writes points, not only an entitlement.
      ['raise', (r) => r.gateways.setAllocation(c, { tags: 20, connections: 2, reserved: true }, admin)],
      ['forced downgrade', (r) => r.pools.uploadLicense(poolId, downgrade, true, admin)],
      ['acknowledge (supersedes the bigger lease)', (r) => r.leases.acknowledge(a, small.jti)],
      ['release', (r) => r.leaseEndings.release(b, admin)],
      ['sweep', (r) => r.leaseEndings.sweep()],
    ],
  };
}

describe('a transaction that dies midway leaves no partial state', () => {
  it('a grant whose backend is terminated while it holds the pool and gateway row locks: nothing persists, the lock is freed, the next grant succeeds', async () => {
    const s = healthy.services;
    const fleet = await buildFleet(h, [{ capacity: { tags: 100, connections: 10 }, gateways: 2 }]);
    const [gw] = fleet.pools[0]!.gateways as [string];
    await s.gateways.setAllocation(gw, { tags: 50, connections: 5 }, admin);
    const first = await s.leases.grant(gw, 'grant');
    await s.leases.acknowledge(gw, first.jti);
    const before = (await poolState(fleet.pools[0]!.id)) as { leases: unknown };

    const doomed = await replicas.start(2);
    const gated = new GatedSigner(new LeaseSigner(doomed.services.keys));
    const leases = new LeaseService(doomed.db, gated, { issuer: 'floatlease-test', audience: LEASE_AUDIENCE });
    gated.hold();
    const grant = leases.grant(gw, 'renewal').then(
      () => 'granted',
      (err: unknown) => err,
    );
    await gated.held();
    expect(await gatewayRowLocked(ctl, gw)).toBe(true);
    // The grant's last statement before signing reads what the pool holds (grant-batch.ts).
    const pid = await backendIdleInTransaction(ctl, 'with clock as');
    // An allocation change queues behind the grant: grants and allocation changes serialise on the
    // pool row (F2 since issue 14), which the grant locked before the gateway row.
    const raise = s.gateways.setAllocation(gw, { tags: 60, connections: 6 }, admin);
    await backendWaitingOn(ctl, 'for no key update');
    await terminate(ctl, pid);
    await backendGone(ctl, pid);
    gated.open();

    expect(await grant).toBeInstanceOf(Error);
    expect((await raise).allocation).toMatchObject({ tags: 60, connections: 6 });
    const rows = await ctl`select seq, state from leases where gateway_id = ${gw} order by seq`;
    expect(rows.map((r) => [Number(r.seq), r.state])).toEqual([[1, 'acknowledged']]);
    expect(((await poolState(fleet.pools[0]!.id)) as { leases: unknown }).leases).toEqual(before.leases);
    await invariantHolds();
    const next = await s.leases.grant(gw, 'renewal');
    expect(next.seq).toBe(2);
    await invariantHolds();
    await doomed.close();
  });

  for (const mode of ['cancel', 'terminate'] as const) {
    it(`grant, raise, forced downgrade, acknowledge, release and sweep interrupted (${mode}) before commit: state unchanged, then they succeed`, async () => {
      const { poolId, cases } = await stage();
      for (const [name, op] of cases) {
        const before = await poolState(poolId);
        // A cancelled statement leaves its connection usable; a killed one may break its pool.
        const victim = mode === 'cancel' ? healthy : await replicas.start(2);
        expect(await interruptedBeforeCommit(mode, () => op(victim.services)), name).toBeInstanceOf(Error);
        expect(await poolState(poolId), name).toEqual(before);
        await invariantHolds();
        if (victim !== healthy) await victim.close();
        await op(healthy.services); // the same operation, run again, succeeds
        expect(await poolState(poolId), name).not.toEqual(before);
        // a 40 (unacknowledged 10 behind it) + b 30 + c 20 reserved = 90 held > the forced limit of 50.
        if (name === 'forced downgrade') expect((await healthy.services.pools.get(poolId)).overCommitted, name).toBe(true);
        await invariantHolds();
      }
      const pool = await healthy.services.pools.get(poolId);
      // Points float (F2): a holds 10 (its 40 superseded by the acknowledged 10); b released its
      // lease and holds nothing (its allocation of 30 is only an entitlement); c is reserved, so it
      // holds its allocation of 20 although its lease expired.
      expect(pool.held).toEqual({ tags: 30, connections: 3 });
      expect(pool.overCommitted).toBe(true); // until the sweeper's review finds it fits again
    });
  }

  it('statements cancelled at random during a concurrent mix: the invariant holds in every snapshot, and the controller keeps working', { timeout: 300_000 }, async () => {
    const seed = 99;
    const fleet = await buildFleet(h, STANDARD_POOLS);
    const ctx: MixContext = { replicas: [healthy], sql: h.db.database.sql, fleet, license: (p) => replicas.license(p) };
    const rng = seededRng(seed);
    const sampler = new InvariantSampler(ctl);
    sampler.start();
    let cancels = 0;
    let running = true;
    const canceller = (async () => {
      while (running) {
        await new Promise((r) => setTimeout(r, rng.int(5, 20)));
        if (await cancelRandomControllerStatement(ctl)) cancels += 1;
      }
    })();
    const chaos = await runMix(ctx, Array.from({ length: 1500 }, () => nextOp(rng, fleet, 1)), 16, { interrupted: isCancelled });
    running = false;
    await canceller;
    // Afterwards, with nothing interrupted, every operation works again.
    const calm = await runMix(ctx, Array.from({ length: 300 }, () => nextOp(rng, fleet, 1)), 16);
    const sampled = await sampler.stop();
    const interrupted = [...chaos.outcomes.entries()].filter(([k]) => k.endsWith(':interrupted')).reduce((n, [, v]) => n + v, 0);
    console.log(
      `[crash] seed ${seed}: ${cancels} statements cancelled (${typeFetchFailures} of them a new connection's array-type lookup, tolerated), ` +
        `${interrupted} of ${chaos.ops} operations interrupted midway; ` +
        `${sampled.snapshots} snapshots; ${formatOutcomes(chaos)}`,
    );
    expect(chaos.unexpected, `seed ${seed}`).toEqual([]);
    expect(calm.unexpected, `seed ${seed}`).toEqual([]);
    expect(sampled.violations, `seed ${seed}`).toEqual([]);
    expect(interrupted).toBeGreaterThan(50);
  });

  // Documents a driver defect that would end a real controller process (porsager/postgres#1208, PRs
  // #1168/#1176/#1209); the controller guards it (server/db/driver-type-fetch-guard.ts). Skipped: whether
  // the driver trips depends on which socket event comes first, so as an expected failure it went red in
  // 3 of 6 runs with up to forty kills (2026-12-01) — a coin toss, not a check. Turn it back into a
  // plain `it` once postgres.js guards nextWrite.
  it.skip('a backend killed under an in-flight statement does not raise an uncaught exception', { timeout: 180_000 }, async () => {
    const { cases } = await stage();
    // Whether the driver trips depends on which socket event comes first: up to forty kills, until it
    // does (five were not always enough on a loaded machine; twelve missed 2 runs of 3 after issue 14).
    for (let attempt = 0; attempt < 40 && uncaught.length === 0; attempt++) {
      const doomed = await replicas.start(2);
      await interruptedBeforeCommit('terminate', () => cases[1]![1](doomed.services));
      await new Promise((r) => setTimeout(r, 100));
      await doomed.close();
    }
    const crashes = uncaught.length;
    uncaught.length = 0;
    expect(crashes).toBe(0);
  });
});
