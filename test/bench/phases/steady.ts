import type { BenchContext } from '../bench-context.js';
import { coresBetween, coresSince, cpuSnapshot, sampleProcess, type CoresUsed, type ProcSample } from '../proc-stats.js';
import { sleep } from '../stats.js';

export interface SteadyResult {
  readonly seconds: number;
  readonly connectedAgents: number;
  /** Leases the agents received (renewals) per second in the window. */
  readonly renewalsPerSec: number;
  /** Average cores: controller (incl. its embedded broker), its embedded PostgreSQL, fleet, machine. */
  readonly cores: CoresUsed;
  readonly controllerCoresPeak1s: number;
  readonly controllerRssMiB: number;
  readonly fleetWorkersRssMiB: number;
}

const MiB = 1024 * 1024;

/** Every agent connected and renewing: controller CPU (from /proc) and RSS over `seconds`. */
export async function steadyRenewal(ctx: BenchContext, seconds: number): Promise<SteadyResult> {
  const { fleet } = ctx;
  const connectedAgents = fleet.agents.filter((a) => a.firstLeaseAt !== undefined && a.releasedAt === undefined).length;
  let renewals = 0;
  const stop = fleet.onLease(() => (renewals += 1));
  const pids = fleet.workerPids();
  const first = cpuSnapshot(ctx.controllerPid, pids);
  let prev: ProcSample | undefined = first.controller;
  let peak = 0;
  const rss: number[] = [];
  const started = performance.now();
  try {
    while (performance.now() - started < seconds * 1000) {
      await sleep(1_000);
      const s = sampleProcess(ctx.controllerPid);
      if (!s) break;
      if (prev) peak = Math.max(peak, coresBetween(prev, s));
      rss.push(s.rssBytes);
      prev = s;
      if (Math.round((performance.now() - started) / 1000) % 30 === 0) ctx.log(`steady: ${Math.round((performance.now() - started) / 1000)} s, ${renewals} renewals`);
    }
  } finally {
    stop();
  }
  const last = cpuSnapshot(ctx.controllerPid, pids);
  const elapsed = (performance.now() - started) / 1000;
  return {
    seconds: elapsed,
    connectedAgents,
    renewalsPerSec: renewals / elapsed,
    cores: coresSince(first, last),
    controllerCoresPeak1s: peak,
    controllerRssMiB: rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length) / MiB,
    fleetWorkersRssMiB: last.fleet.rssBytes / MiB,
  };
}
