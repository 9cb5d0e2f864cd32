import { parsePromText } from '../../helpers/prom-text.js';
import { activeMainIndices, type BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { coresSince, cpuSnapshot, type CoresUsed } from '../proc-stats.js';

export interface DeliveryWaveResult {
  /** Pushes the controller counted as delivered (the broker took the lease) in the window. */
  readonly delivered: number;
  readonly expected: number;
  /** PATCH sent → the scrape that saw every push delivered: an upper bound. */
  readonly seconds: number;
  /** Sign + persist + deliver, with the fleet stopped: the controller's side of the wave alone. */
  readonly leasesPerSec: number;
  readonly pollMs: number;
  readonly cores: CoresUsed;
  /** The fleet resumed → every agent has verified (and acknowledged) its new lease. */
  readonly verifiedAfterResumeSec: number;
  readonly verified: number;
}

const POLL_MS = 50;
const DELIVERED = 'floatlease_lease_pushes_total{outcome="delivered"}';

/**
 * The re-issue wave again, with every fleet worker stopped (SIGSTOP) while the controller signs,
 * persists and delivers: the agents' sockets take the leases, nobody reads them yet. This is the
 * controller's throughput without 10,000 simulated agents verifying on the same cores. Then the
 * fleet resumes (SIGCONT) and every agent must verify its new lease, which proves the delivery.
 * MQTT only: a Socket.IO push waits for the agent's answer, so a stopped fleet would stall it.
 */
export async function deliveryWave(ctx: BenchContext): Promise<DeliveryWaveResult | undefined> {
  if (ctx.opts.transport !== 'mqtt') return undefined;
  const { fleet } = ctx;
  const indices = activeMainIndices(ctx);
  const seqBefore = new Map(indices.map((i) => [i, fleet.agents[i]!.seq]));
  const arrived = new Set<number>();
  const stopListening = fleet.onLease((e) => {
    const prev = seqBefore.get(e.i);
    if (prev !== undefined && e.seq > prev) arrived.add(e.i);
  });
  const pids = fleet.workerPids();
  const signalAll = (signal: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // A worker that is gone is reported by the fleet itself.
      }
    }
  };
  // Progress comes from the audit trail (an index range scan over the new rows): a /metrics scrape
  // walks every socket handle and file descriptor, which costs the controller milliseconds at
  // 10,000 agents. Only once every lease is persisted does the bench scrape for the delivered count.
  const persistedSince = async (auditId: number) =>
    (await ctx.sql<{ n: number }[]>`select count(*)::int as n from audit_events where id > ${auditId} and action = 'lease.granted'`)[0]!.n;
  // Each replica counts the pushes it made: the sum is the fleet's.
  const deliveredNow = async () => {
    let n = 0;
    for (const r of ctx.controller.replicas) n += parsePromText(await (await fetch(`${r.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()).get(DELIVERED) ?? 0;
    return n;
  };
  try {
    const base = await deliveredNow();
    const auditBase = Number((await ctx.sql<{ id: string }[]>`select coalesce(max(id), 0)::text as id from audit_events`)[0]!.id);
    signalAll('SIGSTOP');
    const before = cpuSnapshot(ctx.controllerPid, pids);
    const t0 = preciseNow();
    await Promise.all(ctx.mainPools.map((p) => ctx.controller.admin.setTtl(p.id, ctx.opts.ttlSec)));
    let delivered = 0;
    let t1 = t0;
    const deadline = t0 + Math.max(60_000, indices.length * 10);
    const pause = () => new Promise((r) => setTimeout(r, POLL_MS));
    while (preciseNow() < deadline && (await persistedSince(auditBase)) < indices.length) await pause();
    while (preciseNow() < deadline) {
      delivered = (await deliveredNow()) - base;
      t1 = preciseNow();
      if (delivered >= indices.length) break;
      await pause();
    }
    const cores = coresSince(before, cpuSnapshot(ctx.controllerPid, pids));
    signalAll('SIGCONT');
    const resumed = preciseNow();
    await fleet
      .until('every agent to verify the delivered lease', () => arrived.size === indices.length, Math.max(120_000, indices.length * 20))
      .catch((err: unknown) => ctx.log(`delivery wave: ${arrived.size}/${indices.length} verified: ${String(err)}`));
    const seconds = (t1 - t0) / 1000;
    return {
      delivered,
      expected: indices.length,
      seconds,
      leasesPerSec: delivered / seconds,
      pollMs: POLL_MS,
      cores,
      verifiedAfterResumeSec: (preciseNow() - resumed) / 1000,
      verified: arrived.size,
    };
  } finally {
    signalAll('SIGCONT');
    stopListening();
  }
}
