import type { BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { distribution, sleep, type Distribution } from '../stats.js';

export interface SilentLossResult {
  readonly agents: number;
  readonly ttlSec: number;
  readonly sweepIntervalMs: number;
  /** SIGKILL → every gateway of the pool shown offline (last will). */
  readonly offlineAfterKillMs: number;
  /** The last live lease's `exp` → the pool's free points back to its whole limit (GET /api/v1/pools/:id). */
  readonly freeAfterExpMs: number;
  /** Per lease: `exp` → the sweeper marked it expired (bookkeeping only: points count by the clock). */
  readonly sweptAfterExpMs: Distribution;
  /** The pool's free tags before the kill, at the last poll, and its limit. */
  readonly freeBefore: number;
  readonly freeAfter: number;
  readonly limit: number;
}

const SILENT_TTL = 20;

/**
 * Silent loss on F2's floating model: the agents of one pool (one worker process) are SIGKILLed
 * with their allocations untouched. They hold their points while their leases live; the pool's
 * free points must be back to its whole limit at the last lease's `exp` (expiry is judged by the
 * clock, not by the sweeper), and the sweeper marks the leases within one sweep interval.
 */
export async function silentLoss(ctx: BenchContext): Promise<SilentLossResult | undefined> {
  const s = ctx.silentPool;
  if (!s || s.indices.length === 0) return undefined;
  const { fleet, controller, sql } = ctx;
  await controller.admin.setTtl(s.id, SILENT_TTL);
  await fleet.until('the silent pool to hold short leases', () => s.indices.every((i) => fleet.agents[i]!.ttl === SILENT_TTL && fleet.agents[i]!.acked), 60_000);
  // Their acknowledgements supersede the long leases before anything else happens.
  for (let k = 0; k < 100; k++) {
    const [r] = await sql<{ n: number }[]>`select count(*)::int as n from leases where pool_id = ${s.id}
      and state in ('issued', 'acknowledged') and expires_at > now() + make_interval(secs => ${SILENT_TTL + 5})`;
    if (r?.n === 0) break;
    await sleep(100);
  }
  const before = await controller.admin.pool(s.id);
  const limit = before.limit.tags;
  const tKill = preciseNow();
  fleet.killWorker(s.workerIndex);
  let offlineAfterKillMs = NaN;
  for (let k = 0; k < 600; k++) {
    const [r] = await sql<{ n: number }[]>`select count(*)::int as n from gateways where pool_id = ${s.id} and online`;
    if (r?.n === 0) {
      offlineAfterKillMs = preciseNow() - tKill;
      break;
    }
    await sleep(20);
  }
  const [last] = await sql<{ exp: Date | null }[]>`select max(expires_at) as exp from leases where pool_id = ${s.id}
    and tags > 0 and ended_at is null`;
  const expMs = last?.exp?.getTime() ?? Date.now();
  let freeAfterExpMs = NaN;
  let freeAfter = before.free.tags;
  const deadline = expMs + 30_000;
  // Polled back to back from shortly before exp, so the figure is not a polling period.
  while (Date.now() < deadline) {
    if (Date.now() < expMs - 200) {
      await sleep(Math.min(100, expMs - 200 - Date.now()));
      continue;
    }
    freeAfter = (await controller.admin.pool(s.id)).free.tags;
    if (freeAfter === limit) {
      freeAfterExpMs = Date.now() - expMs;
      break;
    }
    await sleep(1);
  }
  // The sweeper's reclaim: every counted lease marked expired, ended_at − expires_at.
  const sweepDeadline = Date.now() + SILENT_TTL * 1000 + ctx.opts.sweepIntervalMs * 3 + 10_000;
  let swept: number[] = [];
  while (Date.now() < sweepDeadline) {
    const rows = await sql<{ state: string; late: number | null }[]>`select state,
        (extract(epoch from ended_at - expires_at) * 1000)::float8 as late
      from leases where pool_id = ${s.id} and tags > 0 and expires_at > to_timestamp(${tKill / 1000 - SILENT_TTL - 5})`;
    if (rows.length && rows.every((r) => r.state !== 'issued' && r.state !== 'acknowledged')) {
      swept = rows.filter((r) => r.state === 'expired' && r.late !== null).map((r) => r.late!);
      break;
    }
    await sleep(250);
  }
  return {
    agents: s.indices.length,
    ttlSec: SILENT_TTL,
    sweepIntervalMs: ctx.opts.sweepIntervalMs,
    offlineAfterKillMs,
    freeAfterExpMs,
    sweptAfterExpMs: distribution(swept),
    freeBefore: before.free.tags,
    freeAfter,
    limit,
  };
}
