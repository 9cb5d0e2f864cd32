import { activeMainIndices, type BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { coresSince, cpuSnapshot, type CoresUsed } from '../proc-stats.js';
import { distribution, type Distribution } from '../stats.js';

export interface WaveResult {
  readonly leases: number;
  readonly seconds: number;
  /** Sign + persist + deliver + verify at the agent, end to end. */
  readonly leasesPerSec: number;
  readonly deliveredMs: Distribution;
  readonly cores: CoresUsed;
}

/**
 * A forced re-issue wave: PATCH every main pool's lease TTL (to the same value), which pushes a
 * fresh lease to every online gateway of those pools. Counted when the agents hold them.
 */
export async function reissueWave(ctx: BenchContext): Promise<WaveResult> {
  const { fleet } = ctx;
  const indices = activeMainIndices(ctx);
  const seqBefore = new Map(indices.map((i) => [i, fleet.agents[i]!.seq]));
  const arrived = new Map<number, number>();
  const before = cpuSnapshot(ctx.controllerPid, ctx.fleet.workerPids());
  const t0 = preciseNow();
  const stop = fleet.onLease((e) => {
    const prev = seqBefore.get(e.i);
    if (prev !== undefined && e.seq > prev && !arrived.has(e.i)) arrived.set(e.i, e.at);
  });
  try {
    await Promise.all(ctx.mainPools.map((p) => ctx.controller.admin.setTtl(p.id, ctx.opts.ttlSec)));
    const timeoutMs = Math.max(120_000, indices.length * 20);
    await fleet
      .until('the re-issue wave to reach every agent', () => arrived.size === indices.length, timeoutMs)
      .catch((err: unknown) => ctx.log(`re-issue wave incomplete (${arrived.size}/${indices.length}): ${String(err)}`));
  } finally {
    stop();
  }
  const after = cpuSnapshot(ctx.controllerPid, ctx.fleet.workerPids());
  const times = [...arrived.values()].map((t) => t - t0);
  const seconds = Math.max(...times) / 1000;
  return {
    leases: arrived.size,
    seconds,
    leasesPerSec: arrived.size / seconds,
    deliveredMs: distribution(times),
    cores: coresSince(before, after),
  };
}
