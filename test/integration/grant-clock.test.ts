import { decodeJwt } from 'jose';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { OVER_COMMITTED_KEEP_HORIZON_MS } from '../../server/leases/grant-batch.js';
import { LeaseService } from '../../server/leases/lease-service.js';
import { LeaseSigner } from '../../server/signing/lease-signer.js';
import { LEASE_AUDIENCE } from '../../shared/protocol/lease-claims.js';
import { useHarness } from '../helpers/api-harness.js';
import { waitFor } from '../helpers/ports.js';
import { ageLeases } from './invariant/age-leases.js';
import { GatedSigner } from './invariant/gated-signer.js';
import { takeSnapshot, violations, type Snapshot } from './invariant/invariant-checker.js';
import { admin } from './invariant/operations.js';
import { backendsWaitingOn, backendWaitingOn } from './invariant/pg-sessions.js';

/**
 * Invariant seed 731905 (issue 14): "over-committed pool grew from 785 to 898 tags". A grant batch
 * read its clock before it waited for the pool lock. Behind the lock, the gateway's lease expired
 * (and another batch could give its points away); the batch then judged the lease live on its old
 * clock and renewed it ("renewals never lose held points"): expired points came back. The clock is
 * now read once the pool is locked.
 */
const h = useHarness();

const TTL = 30;

/** A lease service whose clock the test moves (the real one plus an offset), with a signer the test can stop. */
function clocked() {
  let offset = 0;
  const signer = new GatedSigner(new LeaseSigner(h.services.keys));
  const refusals = { n: 0 };
  const svc = new LeaseService(h.db.database.db, signer, {
    issuer: 'floatlease-test',
    audience: LEASE_AUDIENCE,
    now: () => Date.now() + offset,
    observer: { keepRefused: () => void (refusals.n += 1) },
  });
  return { svc, signer, refusals, advance: (ms: number) => void (offset += ms), now: () => Date.now() + offset };
}

/** A pool of 100 tags whose gateway holds an 80-tag lease; the pool is then over-committed (forced 50-tag license). */
async function overCommittedWithLease(svc: LeaseService) {
  const poolId = await h.pool({ tags: 100, connections: 10, plugins: [], settings: { leaseTtlSeconds: TTL } });
  const { gatewayId } = await h.enroll(await h.code(poolId));
  await h.services.gateways.setAllocation(gatewayId, { tags: 80, connections: 1 }, admin);
  const first = await svc.grant(gatewayId, 'grant');
  expect((decodeJwt(first.lease) as { points: { tags: number } }).points.tags).toBe(80);
  await h.services.pools.uploadLicense(poolId, await h.license({ tags: 50, connections: 10, plugins: [] }), true, admin);
  expect((await h.services.pools.get(poolId)).overCommitted).toBe(true);
  return { poolId, gatewayId, expMs: first.expiresAt * 1000 };
}

const tagsOf = (g: { lease: string }) => (decodeJwt(g.lease) as { points: { tags: number } }).points.tags;

describe('grant batches read their clock after the pool lock', () => {
  it('a renewal that waited for the lock while its lease expired does not bring the points back', async () => {
    const c = clocked();
    const { poolId, gatewayId, expMs } = await overCommittedWithLease(c.svc);
    // (Only the controller's clock moves: the database's now() still sees the old lease live.)
    const sql = h.db.database.sql;
    // Another transaction holds the pool row: the renewal's batch starts and waits behind it.
    let releaseBlocker!: () => void;
    const blocked = new Promise<void>((r) => (releaseBlocker = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const blocker = sql.begin(async (tx) => {
      await tx`select id from pools where id = ${poolId} for update`;
      locked();
      await blocked;
    });
    await isLocked;
    const renewal = c.svc.grant(gatewayId, 'renewal');
    await waitFor('the renewal to wait for the pool lock', async () => {
      const [r] = await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query ilike '%for no key update%'`;
      return r!.n > 0;
    });
    // Meanwhile the lease expires (on the controller's clock), then the lock is released.
    c.advance(expMs - c.now() + 1_000);
    releaseBlocker();
    await blocker;
    const g = await renewal;
    expect(tagsOf(g), 'an over-committed pool grants nothing new; the 80 tags had expired').toBe(0);
  });

  it(`in an over-committed pool a renewal keeps what the gateway still holds ${OVER_COMMITTED_KEEP_HORIZON_MS} ms from now`, async () => {
    const c = clocked();
    const a = await overCommittedWithLease(c.svc);
    // Well before exp: the renewal keeps its 80 tags (renewals never lose held points).
    expect(tagsOf(await c.svc.grant(a.gatewayId, 'renewal'))).toBe(80);
    const b = await overCommittedWithLease(c.svc);
    // Within the horizon of its exp: the lease may be gone before the batch commits; keep nothing.
    c.advance(b.expMs - c.now() - OVER_COMMITTED_KEEP_HORIZON_MS / 2);
    expect(tagsOf(await c.svc.grant(b.gatewayId, 'renewal'))).toBe(0);
  });

  it('a renewal whose batch commits after its kept lease expired is rolled back and run again (keep guard)', { timeout: 60_000 }, async () => {
    // Invariant seeds 14014 and 31337 (CI, 2026-12-02): "over-committed pool grew from 645 to 863
    // tags". The batch kept a lease live at its clock plus the horizon, then took longer than the
    // horizon (signing on a loaded machine) and committed after the lease had expired: a reader in
    // between saw the points back in the pool, the agent had dropped them, and the commit took them again.
    const c = clocked();
    const { gatewayId, expMs } = await overCommittedWithLease(c.svc);
    // The batch reads its clock just outside the horizon: the 80 tags are kept.
    c.advance(expMs - c.now() - OVER_COMMITTED_KEEP_HORIZON_MS - 1_500);
    c.signer.hold();
    const renewal = c.svc.grant(gatewayId, 'renewal');
    await c.signer.held();
    // The batch stalls (real time passes) until the kept lease has expired on the controller's clock.
    await waitFor('the kept lease to expire while the batch is stalled', async () => c.now() > expMs + 200, { timeoutMs: 30_000 });
    c.signer.open();
    const g = await renewal;
    expect(c.refusals.n, 'the commit-time guard refused the first run').toBe(1);
    expect(tagsOf(g), 'run again on a later clock, the expired 80 tags are not kept').toBe(0);
  });
});

describe("the invariant mix's stand-in for time passing", () => {
  it('orders itself with a renewal that keeps the lease it ages (invariant seed 31337, CI at f14fd0b)', async () => {
    // "over-committed pool grew from 186 to 208 tags". The mix's `age` moved a lease's expiry into
    // the past while a renewal keeping that lease was between its keep guard and its commit: the
    // guard saw the lease live, a reader then saw it expired and the renewal not yet committed, and
    // after the commit the points were back. No clock jumps like that; the age now takes the
    // gateway's row first, as the server's writers do. The renewal is held in its commit, right
    // after the keep guard ran, by a test trigger that waits on an advisory lock the test holds.
    const c = clocked();
    const { gatewayId } = await overCommittedWithLease(c.svc);
    const sql = h.db.database.sql;
    // The checker's own client: drizzle's leaves timestamps as text.
    const checkSql = postgres(h.db.url, { max: 2, onnotice: () => {} });
    const GATE = 31337;
    await sql.unsafe(`
      create function floatlease_test_commit_gate() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock(${GATE}); return null; end $$;
      create constraint trigger leases_zz_commit_gate after insert on leases deferrable initially deferred
        for each row when (new.over_committed_keep) execute function floatlease_test_commit_gate()`);
    try {
      const snapshots: Snapshot[] = [await takeSnapshot(checkSql)];
      const gate = await sql.reserve();
      await gate`select pg_advisory_lock(${GATE})`;
      const renewal = c.svc.grant(gatewayId, 'renewal');
      await backendWaitingOn(sql, 'commit');
      let aged = false;
      const aging = ageLeases(sql, gatewayId, true).then((ids) => {
        aged = true;
        return ids;
      });
      // The bare UPDATE of the old age finished at once; the age now waits for the gateway's row.
      await waitFor('the age to finish or to wait for the gateway', async () => aged || (await backendsWaitingOn(sql, 'for update')).length > 0);
      snapshots.push(await takeSnapshot(checkSql));
      await gate`select pg_advisory_unlock(${GATE})`;
      gate.release();
      expect(tagsOf(await renewal), 'the renewal kept the live lease: the pool was over-committed, not the lease gone').toBe(80);
      const agedIds = await aging;
      snapshots.push(await takeSnapshot(checkSql));
      const seen = snapshots.flatMap((cur, i) => violations(snapshots[i - 1], cur));
      expect(seen).toEqual([]);
      // After both, the gateway holds nothing: the age came after the renewal and aged its lease too.
      expect(agedIds).toHaveLength(2);
      expect(snapshots.at(-1)!.gateways.get(gatewayId)!.held.tags).toBe(0);
    } finally {
      await sql.unsafe('drop trigger leases_zz_commit_gate on leases; drop function floatlease_test_commit_gate()');
      await checkSql.end();
    }
  });
});
