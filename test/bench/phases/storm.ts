import type { BenchContext } from '../bench-context.js';
import { preciseNow } from '../fleet-messages.js';
import { coresSince, cpuSnapshot, type CoresUsed } from '../proc-stats.js';
import { distribution, type Distribution } from '../stats.js';

export interface StormResult {
  readonly agents: number;
  readonly holding: number;
  /** From "connect now" to the last agent holding a verified lease. */
  readonly allHoldingSec: number;
  readonly timeToLeaseMs: Distribution;
  /** One agent's connect → CONNACK (MQTT) or handshake done (WebSocket). */
  readonly connectMs: Distribution;
  /** One agent's CONNACK → its first verified lease (hello, presence, grant, delivery). */
  readonly connectedToLeaseMs: Distribution;
  /** Connections beyond the first (reconnects during the storm). */
  readonly reconnects: number;
  /** First leases per second between the first and the last one. */
  readonly leasesPerSec: number;
  readonly cores: CoresUsed;
}

/** All workers loaded; then every agent connects at once (bounded per worker) and says hello. */
export async function connectStorm(ctx: BenchContext, workerCount: number): Promise<StormResult> {
  const { fleet } = ctx;
  const before = cpuSnapshot(ctx.controllerPid, ctx.fleet.workerPids());
  const t0 = preciseNow();
  for (let w = 0; w < workerCount; w++) fleet.begin(w);
  const n = fleet.agents.length;
  const timeoutMs = Math.max(180_000, n * 30);
  await fleet
    .until('every agent to hold a lease', () => fleet.agents.every((a) => a.firstLeaseAt !== undefined), timeoutMs)
    .catch((err: unknown) => ctx.log(`connect storm incomplete: ${String(err)}`));
  const after = cpuSnapshot(ctx.controllerPid, ctx.fleet.workerPids());
  const firsts = fleet.agents.flatMap((a) => (a.firstLeaseAt === undefined ? [] : [a.firstLeaseAt]));
  const last = Math.max(...firsts);
  const first = Math.min(...firsts);
  return {
    agents: n,
    holding: firsts.length,
    allHoldingSec: (last - t0) / 1000,
    timeToLeaseMs: distribution(firsts.map((t) => t - t0)),
    connectMs: distribution(fleet.agents.flatMap((a) => (a.connectedAt === undefined || a.openedAt === undefined ? [] : [a.connectedAt - a.openedAt]))),
    connectedToLeaseMs: distribution(fleet.agents.flatMap((a) => (a.connectedAt === undefined || a.firstLeaseAt === undefined ? [] : [a.firstLeaseAt - a.connectedAt]))),
    reconnects: fleet.agents.reduce((s, a) => s + Math.max(0, a.connects - 1), 0),
    leasesPerSec: firsts.length / Math.max(0.001, (last - first) / 1000),
    cores: coresSince(before, after),
  };
}
