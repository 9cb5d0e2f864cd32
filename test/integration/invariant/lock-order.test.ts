import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseService } from '../../../server/leases/lease-service.js';
import { LeaseSigner } from '../../../server/signing/lease-signer.js';
import { LEASE_AUDIENCE } from '../../../shared/protocol/lease-claims.js';
import { startHarness, type Harness } from '../../helpers/api-harness.js';
import { buildFleet } from './fleet.js';
import { GatedSigner } from './gated-signer.js';
import { takeSnapshot, violations } from './invariant-checker.js';
import { admin } from './operations.js';
import { backendWaitingOn } from './pg-sessions.js';

let h: Harness;
let ctl: Sql;
beforeAll(async () => {
  h = await startHarness();
  ctl = postgres(h.db.url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await ctl?.end();
  await h?.close();
});

describe('lock order between grants and allocation changes', () => {
  /**
   * A grant locks its gateway row, then inserts a lease, whose foreign key takes FOR KEY SHARE on
   * the pool row. setAllocation locks the pool row, then the gateway row. With the pool locked
   * FOR UPDATE (which conflicts with FOR KEY SHARE) the two deadlocked and PostgreSQL aborted one
   * after deadlock_timeout; FOR NO KEY UPDATE serialises allocation changes without that conflict.
   */
  it('a grant holding the gateway row and an allocation change holding the pool row both complete', async () => {
    const fleet = await buildFleet(h, [{ capacity: { tags: 100, connections: 10 }, gateways: 2 }]);
    const [gw] = fleet.pools[0]!.gateways as [string];
    await h.services.gateways.setAllocation(gw, { tags: 10, connections: 1 }, admin);
    const gated = new GatedSigner(new LeaseSigner(h.services.keys));
    const leases = new LeaseService(h.db.database.db, gated, { issuer: 'floatlease-test', audience: LEASE_AUDIENCE });

    for (let round = 0; round < 3; round++) {
      gated.hold();
      const grant = leases.grant(gw, 'renewal');
      await gated.held(); // the grant holds the gateway row
      const raise = h.services.gateways.setAllocation(gw, { tags: 20 + round, connections: 2 }, admin);
      await backendWaitingOn(ctl, 'select "id", "pool_id"'); // setAllocation holds the pool row, waits for the gateway
      const started = performance.now();
      gated.open();
      const [g, r] = await Promise.allSettled([grant, raise]);
      expect(g.status, g.status === 'rejected' ? String((g.reason as Error).cause ?? g.reason) : '').toBe('fulfilled');
      expect(r.status, r.status === 'rejected' ? String((r.reason as Error).cause ?? r.reason) : '').toBe('fulfilled');
      // No deadlock detection (deadlock_timeout is 1 s) stood between them.
      expect(performance.now() - started).toBeLessThan(900);
      // The grant read the allocation before the change: its lease carries the old points.
      const [lease] = await ctl`select tags from leases where gateway_id = ${gw} order by seq desc limit 1`;
      expect(lease!.tags).toBe(round === 0 ? 10 : 20 + round - 1);
    }
    expect(violations(undefined, await takeSnapshot(ctl))).toEqual([]);
  });

  it('grants in a pool proceed while an allocation change in that pool holds the pool row', async () => {
    const fleet = await buildFleet(h, [{ capacity: { tags: 100, connections: 10 }, gateways: 3 }]);
    const [x, y] = fleet.pools[0]!.gateways as [string, string];
    const gated = new GatedSigner(new LeaseSigner(h.services.keys));
    const leases = new LeaseService(h.db.database.db, gated, { issuer: 'floatlease-test', audience: LEASE_AUDIENCE });
    // y's grant holds y's row, so a change to y waits there while holding the pool row.
    gated.hold();
    const grantY = leases.grant(y, 'grant');
    await gated.held();
    const changeY = h.services.gateways.setAllocation(y, { tags: 5, connections: 1 }, admin);
    await backendWaitingOn(ctl, 'select "id", "pool_id"');
    // Meanwhile other gateways of the pool renew without waiting for the pool row.
    const renewing = Promise.all(Array.from({ length: 5 }, () => h.services.leases.grant(x, 'renewal')));
    const blocked = new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 3_000));
    const outcome = await Promise.race([renewing, blocked]);
    gated.open();
    await Promise.all([grantY, changeY, renewing]);
    expect(outcome, 'renewals waited for the pool row').not.toBe('blocked');
    const renewals = await renewing;
    expect(renewals.map((r) => r.seq).sort((p, q) => p - q)).toEqual([1, 2, 3, 4, 5]);
  });
});
