import { activeMainIndices, type BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { distribution, sleep, type Distribution } from '../stats.js';

export interface ReleaseResult {
  readonly releases: number;
  readonly failed: number;
  /** Release sent → the gateway's share of the pool's held points is back to its allocation. */
  readonly pointsFreeMs: Distribution;
  readonly poolHeldDropTags: number;
  readonly expectedDropTags: number;
}

/**
 * Explicit release. So that the release visibly frees points, each chosen agent first stops
 * acknowledging and gets its allocation lowered to 0: it then holds a larger lease than its
 * allocation (F2), which only its release (or the lease's expiry) gives back.
 */
export async function releaseToFree(ctx: BenchContext, count: number): Promise<ReleaseResult> {
  const { fleet, specs, controller, sql } = ctx;
  const all = activeMainIndices(ctx);
  const chosen = all.slice(0, Math.min(count, all.length));
  if (chosen.length === 0) return { releases: 0, failed: 0, pointsFreeMs: distribution([]), poolHeldDropTags: 0, expectedDropTags: 0 };
  fleet.setAck(chosen, false);
  await sleep(100);
  const expectedDropTags = chosen.reduce((s, i) => s + fleet.agents[i]!.tags, 0);
  for (const i of chosen) {
    const zero = fleet.nextLease(i, (e) => e.tags === 0, 15_000);
    await controller.admin.setAllocation(specs[i]!.gatewayId, 0, 0);
    await zero;
  }
  const poolOf = (i: number) => ctx.mainPools.find((p) => p.indices.includes(i))!.id;
  const pools = [...new Set(chosen.map(poolOf))];
  const heldBefore = await Promise.all(pools.map((id) => controller.admin.pool(id).then((p) => p.held.tags)));
  const free: number[] = [];
  let failed = 0;
  for (const i of chosen) {
    const gatewayId = specs[i]!.gatewayId;
    const t0 = preciseNow();
    fleet.release(i);
    let done = false;
    while (!done && preciseNow() - t0 < 10_000) {
      // The gateway's term of the pool's held sum: max(allocation 0, largest live lease).
      const [row] = await sql<{ t: number }[]>`
        select coalesce(max(tags), 0)::int as t from leases
        where gateway_id = ${gatewayId} and state in ('issued', 'acknowledged') and expires_at > now()`;
      done = row?.t === 0;
      if (!done) await sleep(1);
    }
    if (done) free.push(preciseNow() - t0);
    else failed += 1;
  }
  const heldAfter = await Promise.all(pools.map((id) => controller.admin.pool(id).then((p) => p.held.tags)));
  const poolHeldDropTags = heldBefore.reduce((s, v, k) => s + v - heldAfter[k]!, 0);
  return { releases: free.length, failed, pointsFreeMs: distribution(free), poolHeldDropTags, expectedDropTags };
}
