import os from 'node:os';
import type { Ceilings } from './ceilings.js';
import type { scrapeLeaseTimings } from './controller-scrape.js';
import type { EngineProbe } from './engine-probe.js';
import type { AllocLatencyResult } from './phases/alloc-latency.js';
import type { DeliveryWaveResult } from './phases/delivery-wave.js';
import type { ReleaseResult } from './phases/release.js';
import type { SilentLossResult } from './phases/silent-loss.js';
import type { SteadyResult } from './phases/steady.js';
import type { StormResult } from './phases/storm.js';
import type { WaveResult } from './phases/wave.js';
import { round } from './stats.js';

export interface BenchReport {
  readonly startedAt: string;
  readonly machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  readonly options: Record<string, unknown>;
  readonly baseline: { controllerRssMiB: number };
  readonly ceilings: Ceilings;
  /** Absent when skipped (--engine-grants 0). */
  readonly engine: EngineProbe | undefined;
  readonly controllerTimingsAfterWave: Awaited<ReturnType<typeof scrapeLeaseTimings>>;
  /** Database transactions of the lease engine during the wave alone, by operation. */
  readonly waveTransactions: Readonly<Record<string, number>>;
  readonly storm: StormResult;
  readonly wave: WaveResult;
  /** Absent for Socket.IO agents. */
  readonly deliveryWave: DeliveryWaveResult | undefined;
  readonly steady: SteadyResult;
  readonly allocation: AllocLatencyResult;
  readonly release: ReleaseResult;
  readonly silentLoss: SilentLossResult | undefined;
  readonly derived: {
    readonly smallestCeiling: { name: string; perSec: number };
    readonly waveToSmallestCeiling: number;
    readonly deliveryWaveToSmallestCeiling: number | undefined;
    readonly stormToSmallestCeiling: number;
    readonly rssPerAgentKiB: number;
  };
  readonly fleet: { errors: number; refused: number; firstErrors: string[] };
}

export function machineInfo(): BenchReport['machine'] {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
}

/** The resource ceilings at their best measured mode; the smallest bounds what a lease can cost. */
export function smallestCeiling(c: Ceilings): { name: string; perSec: number } {
  const candidates = [
    { name: 'node:crypto Ed25519 sign', perSec: c.ed25519NodeCryptoPerSec },
    { name: 'jose EdDSA sign', perSec: Math.max(c.joseSequentialPerSec, c.joseConcurrentPerSec) },
    { name: `PostgreSQL single-row INSERT commits (pool of ${c.pgPoolSize})`, perSec: Math.max(c.pgInsertSequentialPerSec, c.pgInsertPooledPerSec) },
    { name: 'broker QoS 1 publish → subscriber', perSec: c.brokerQos1PerSec },
  ];
  return candidates.reduce((a, b) => (b.perSec < a.perSec ? b : a));
}

const f0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const f1 = (x: number) => (Number.isFinite(x) ? round(x, 1).toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? round(x, 2).toFixed(2) : 'n/a');

export function formatReport(r: BenchReport): string {
  const rows: [string, string][] = [];
  const c = r.ceilings;
  rows.push(['agents (transport)', `${r.storm.agents.toLocaleString('en-US')} (${String(r.options.transport)})`]);
  rows.push(['connect storm: all holding a lease', `${f1(r.storm.allHoldingSec)} s (${r.storm.holding}/${r.storm.agents}); p50 ${f0(r.storm.timeToLeaseMs.p50)} ms, p99 ${f0(r.storm.timeToLeaseMs.p99)} ms`]);
  rows.push(['storm, per agent: connect → CONNACK or handshake', `p50 ${f0(r.storm.connectMs.p50)} ms, p99 ${f0(r.storm.connectMs.p99)} ms; ${r.storm.reconnects} reconnects`]);
  rows.push(['storm, per agent: CONNACK → verified lease', `p50 ${f0(r.storm.connectedToLeaseMs.p50)} ms, p99 ${f0(r.storm.connectedToLeaseMs.p99)} ms`]);
  rows.push(['storm first-lease throughput', `${f0(r.storm.leasesPerSec)} leases/s (cores: controller ${f2(r.storm.cores.controller)}, PostgreSQL ${f2(r.storm.cores.postgres)}, fleet ${f2(r.storm.cores.fleet)}, machine ${f2(r.storm.cores.machine)})`]);
  const waveTx = (op: string) => r.waveTransactions[op] ?? 0;
  rows.push([
    're-issue wave: transactions (leases per batch)',
    `grant ${f0(waveTx('grant'))} (${f1(r.wave.leases / Math.max(1, waveTx('grant')))}), acknowledge ${f0(waveTx('acknowledge'))} (${f1(r.wave.leases / Math.max(1, waveTx('acknowledge')))})`,
  ]);
  rows.push(['re-issue wave, end to end (…+verify+ack)', `${f0(r.wave.leasesPerSec)} leases/s (${r.wave.leases} in ${f1(r.wave.seconds)} s, cores: controller ${f2(r.wave.cores.controller)}, PostgreSQL ${f2(r.wave.cores.postgres)}, fleet ${f2(r.wave.cores.fleet)}, machine ${f2(r.wave.cores.machine)})`]);
  const d = r.deliveryWave;
  rows.push([
    're-issue wave, fleet stopped (sign+persist+deliver)',
    d
      ? `${f0(d.leasesPerSec)} leases/s (${d.delivered}/${d.expected} in ${f2(d.seconds)} s, polled every ${d.pollMs} ms; cores: controller ${f2(d.cores.controller)}, PostgreSQL ${f2(d.cores.postgres)}, machine ${f2(d.cores.machine)}); resumed → ${d.verified} verified in ${f1(d.verifiedAfterResumeSec)} s`
      : 'n/a (Socket.IO pushes wait for the agent)',
  ]);
  rows.push(['ceiling: node:crypto Ed25519 sign', `${f0(c.ed25519NodeCryptoPerSec)} /s`]);
  rows.push(['ceiling: jose EdDSA sign (sequential / concurrent)', `${f0(c.joseSequentialPerSec)} / ${f0(c.joseConcurrentPerSec)} /s`]);
  rows.push([`ceiling: PG INSERT commits (sequential / pool ${c.pgPoolSize})`, `${f0(c.pgInsertSequentialPerSec)} / ${f0(c.pgInsertPooledPerSec)} /s`]);
  rows.push(['ceiling: broker QoS 1 publish → subscriber', `${f0(c.brokerQos1PerSec)} /s (${c.brokerNote})`]);
  const e = r.engine;
  if (e) {
    rows.push(['lease engine alone: grant / ack, one at a time', `${f0(e.sequentialGrantsPerSec)} / ${f0(e.sequentialAcksPerSec)} per s (no transport)`]);
    rows.push([`lease engine alone: grant / ack, ${f0(e.callers)} at once`, `${f0(e.concurrentGrantsPerSec)} / ${f0(e.concurrentAcksPerSec)} per s (batches of ${f1(e.meanGrantBatch)} / ${f1(e.meanAckBatch)})`]);
    rows.push([`lease engine alone: renewal rounds (grant + ack)`, `${e.renewalRoundsPerSec.map(f0).join(' → ')} per s (one more lease of history per round)`]);
  } else rows.push(['lease engine alone', 'skipped (--engine-grants 0)']);
  rows.push(['smallest ceiling', `${r.derived.smallestCeiling.name}: ${f0(r.derived.smallestCeiling.perSec)} /s`]);
  rows.push([
    'ratio wave / smallest ceiling',
    `fleet stopped ${f2(r.derived.deliveryWaveToSmallestCeiling ?? NaN)}, end to end ${f2(r.derived.waveToSmallestCeiling)} (storm ${f2(r.derived.stormToSmallestCeiling)})`,
  ]);
  rows.push(['allocation change → applied at agent', `p50 ${f1(r.allocation.appliedMs.p50)} ms, p99 ${f1(r.allocation.appliedMs.p99)} ms (n=${r.allocation.changes}, failed ${r.allocation.failed}; API p50 ${f1(r.allocation.apiMs.p50)} ms)`]);
  rows.push(['release → pool free points', `p50 ${f1(r.release.poolFreeMs.p50)} ms, p99 ${f1(r.release.poolFreeMs.p99)} ms (n=${r.release.releases}, failed ${r.release.failed}; pool free +${r.release.freeRiseTags} tags, expected +${r.release.expectedRiseTags})`]);
  const s = r.silentLoss;
  rows.push([
    'silent loss (SIGKILL) → pool free at exp',
    s
      ? `offline ${f0(s.offlineAfterKillMs)} ms after SIGKILL; pool free ${s.freeBefore} → ${s.freeAfter} of ${s.limit} tags ${f0(s.freeAfterExpMs)} ms after the last lease's exp; swept p50 ${f0(s.sweptAfterExpMs.p50)} / max ${f0(s.sweptAfterExpMs.max)} ms after exp (sweep every ${s.sweepIntervalMs} ms, n=${s.sweptAfterExpMs.n})`
      : 'skipped',
  ]);
  rows.push(['steady renewal', `${f1(r.steady.renewalsPerSec)} renewals/s over ${f0(r.steady.seconds)} s, ${r.steady.connectedAgents} agents`]);
  rows.push(['controller CPU (avg / peak 1 s)', `${f2(r.steady.cores.controller)} / ${f2(r.steady.controllerCoresPeak1s)} cores (PostgreSQL ${f2(r.steady.cores.postgres)}, fleet workers ${f2(r.steady.cores.fleet)}, machine ${f2(r.steady.cores.machine)})`]);
  rows.push(['controller RSS', `${f0(r.steady.controllerRssMiB)} MiB (idle before the fleet ${f0(r.baseline.controllerRssMiB)} MiB)`]);
  rows.push(['RSS per connected agent', `${f1(r.derived.rssPerAgentKiB)} KiB`]);
  rows.push(['fleet errors / refused leases', `${r.fleet.errors} / ${r.fleet.refused}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const line = '─'.repeat(w + 2) + '┼' + '─'.repeat(60);
  return [line, ...rows.map(([k, v]) => ` ${k.padEnd(w)} │ ${v}`), line].join('\n');
}
