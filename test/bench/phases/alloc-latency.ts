import { activeMainIndices, type BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { distribution, sleep, type Distribution } from '../stats.js';

export interface AllocLatencyResult {
  readonly changes: number;
  readonly failed: number;
  /** PUT /allocation sent → the agent holds a verified lease with the new points. */
  readonly appliedMs: Distribution;
  /** The PUT's own response time. */
  readonly apiMs: Distribution;
}

/**
 * Allocation changes one after another on random connected gateways (N connected, renewals
 * going on), each timed until the agent has verified the pushed lease that carries it.
 */
export async function allocationLatency(ctx: BenchContext, changes: number): Promise<AllocLatencyResult> {
  const { fleet, specs, controller } = ctx;
  const pool = activeMainIndices(ctx);
  const applied: number[] = [];
  const api: number[] = [];
  let failed = 0;
  const deadline = performance.now() + Math.max(60_000, changes * 1_000);
  for (let k = 0; k < changes && performance.now() < deadline; k++) {
    const i = pool[Math.floor(Math.random() * pool.length)]!;
    const a = fleet.agents[i]!;
    const tags = a.tags === ctx.allocation.tags ? ctx.allocation.tags + 1 : ctx.allocation.tags;
    const seq = a.seq;
    const arrived = fleet.nextLease(i, (e) => e.seq > seq && e.tags === tags, 10_000);
    const t0 = preciseNow();
    try {
      await controller.admin.setAllocation(specs[i]!.gatewayId, tags, ctx.allocation.connections);
      api.push(preciseNow() - t0);
      const e = await arrived;
      applied.push(e.at - t0);
    } catch (err) {
      failed += 1;
      arrived.catch(() => undefined);
      if (failed <= 3) ctx.log(`allocation change ${k} failed: ${String(err)}`);
    }
    await sleep(Math.random() * 20);
  }
  return { changes: applied.length, failed, appliedMs: distribution(applied), apiMs: distribution(api) };
}
