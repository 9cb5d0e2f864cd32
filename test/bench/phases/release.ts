import { activeMainIndices, type BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { distribution, sleep, type Distribution } from '../stats.js';

export interface ReleaseResult {
  readonly releases: number;
  readonly failed: number;
  /** Release sent → the pool's free points (GET /api/v1/pools/:id) up by what the gateway held. */
  readonly poolFreeMs: Distribution;
  /** The pools' free tags after the releases minus before. */
  readonly freeRiseTags: number;
  /** What the released gateways held (their largest live lease), summed. */
  readonly expectedRiseTags: number;
}

/**
 * Explicit release on F2's floating model: a gateway holds the points of its live leases, so its
 * release (a clean stop) returns them to the pool at once, whatever its allocation. Measured from
 * outside, as an operator sees it: the pool's free points in the REST API, polled back to back
 * (each poll is one GET, so the figure includes up to one GET's latency).
 */
export async function releaseToFree(ctx: BenchContext, count: number): Promise<ReleaseResult> {
  const { fleet, specs, controller, sql } = ctx;
  const all = activeMainIndices(ctx);
  const chosen = all.slice(0, Math.min(count, all.length));
  if (chosen.length === 0) return { releases: 0, failed: 0, poolFreeMs: distribution([]), freeRiseTags: 0, expectedRiseTags: 0 };
  const poolOf = (i: number) => ctx.mainPools.find((p) => p.indices.includes(i))!.id;
  const pools = [...new Set(chosen.map(poolOf))];
  const freeOf = async (id: string) => (await controller.admin.pool(id)).free.tags;
  const freeBefore = await Promise.all(pools.map(freeOf));
  const times: number[] = [];
  let failed = 0;
  let expectedRiseTags = 0;
  for (const i of chosen) {
    const gatewayId = specs[i]!.gatewayId;
    const poolId = poolOf(i);
    // What the gateway holds now (F2: its largest live lease); the pool's free points rise by it.
    const [row] = await sql<{ t: number }[]>`
      select coalesce(max(tags), 0)::int as t from leases
      where gateway_id = ${gatewayId} and ended_at is null and expires_at > now()`;
    const holds = row?.t ?? 0;
    expectedRiseTags += holds;
    const before = await freeOf(poolId);
    const t0 = preciseNow();
    fleet.release(i);
    let done = false;
    while (!done && preciseNow() - t0 < 10_000) {
      done = (await freeOf(poolId)) >= before + holds;
      if (!done) await sleep(1);
    }
    if (done) times.push(preciseNow() - t0);
    else failed += 1;
  }
  const freeAfter = await Promise.all(pools.map(freeOf));
  const freeRiseTags = freeAfter.reduce((s, v, k) => s + v - freeBefore[k]!, 0);
  return { releases: times.length, failed, poolFreeMs: distribution(times), freeRiseTags, expectedRiseTags };
}
