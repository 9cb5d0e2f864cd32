import type { BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { distribution, mapLimit, sleep, type Distribution } from '../stats.js';

export interface SilentLossResult {
  readonly agents: number;
  readonly ttlSec: number;
  readonly sweepIntervalMs: number;
  /** SIGKILL → every gateway of the pool shown offline (last will). */
  readonly offlineAfterKillMs: number;
  /** The last counted lease's `exp` → the pool's held points back to its allocation (as the API shows it). */
  readonly heldReturnedAfterExpMs: number;
  /** Per lease: `exp` → the sweeper marked it expired (the audit's reclaim). */
  readonly sweptAfterExpMs: Distribution;
  readonly heldBefore: number;
  readonly heldAfter: number;
}

const SILENT_TTL = 20;

/**
 * Silent loss: the agents of one pool (one worker process) stop acknowledging, get their
 * allocation lowered to 0 (so their last acknowledged lease is what holds the points), then
 * their worker is SIGKILLed. Points must come back at that lease's expiry, and the sweeper
 * must mark it within one sweep interval.
 */
export async function silentLoss(ctx: BenchContext): Promise<SilentLossResult | undefined> {
  const s = ctx.silentPool;
  if (!s || s.indices.length === 0) return undefined;
  const { fleet, controller, sql, specs } = ctx;
  await controller.admin.setTtl(s.id, SILENT_TTL);
  await fleet.until('the silent pool to hold short leases', () => s.indices.every((i) => fleet.agents[i]!.ttl === SILENT_TTL && fleet.agents[i]!.acked), 60_000);
  // Their acknowledgements supersede the long leases before anything else happens.
  for (let k = 0; k < 100; k++) {
    const [r] = await sql<{ n: number }[]>`select count(*)::int as n from leases where pool_id = ${s.id}
      and state in ('issued', 'acknowledged') and expires_at > now() + make_interval(secs => ${SILENT_TTL + 5})`;
    if (r?.n === 0) break;
    await sleep(100);
  }
  fleet.setAck(s.indices, false);
  await sleep(100);
  await mapLimit(s.indices, 8, async (i) => {
    const zero = fleet.nextLease(i, (e) => e.tags === 0, 15_000);
    await controller.admin.setAllocation(specs[i]!.gatewayId, 0, 0);
    await zero;
  });
  const heldBefore = (await controller.admin.pool(s.id)).held.tags;
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
    and tags > 0 and state in ('issued', 'acknowledged')`;
  const expMs = last?.exp?.getTime() ?? Date.now();
  let heldReturnedAfterExpMs = NaN;
  let heldAfter = heldBefore;
  const limit = expMs + 30_000;
  while (Date.now() < limit) {
    heldAfter = (await controller.admin.pool(s.id)).held.tags;
    if (heldAfter === 0) {
      heldReturnedAfterExpMs = preciseNow() - expMs;
      break;
    }
    await sleep(100);
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
    heldReturnedAfterExpMs,
    sweptAfterExpMs: distribution(swept),
    heldBefore,
    heldAfter,
  };
}
