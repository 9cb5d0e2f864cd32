/**
 * What-if replay benchmark (issue 21): 10,000 gateways × 7 days of synthetic recorded history
 * (usage changes about hourly, two disconnects a day, an allocation change a day, a few borrows),
 * replayed under the settings in force and one what-if, as `POST /pools/:id/simulate` does.
 * Prints the figures; the budget (30 s) is the issue's, reported, not asserted.
 * With --db the same history is also written into a throwaway PostgreSQL (audit trail and usage
 * samples, as the controller records them) and replayed through SimulateService, the whole
 * `POST /pools/:id/simulate`: reading the history, turning it into events, both replays.
 *   npm run bench:replay [-- --gateways 10000 --days 7] [-- --db]
 */
import postgres from 'postgres';
import { openDatabase } from '../../server/db/database.js';
import { compileEvents, replay, type SimEvent, type SimGateway, type SimSettings } from '../../server/simulate/replay.js';
import { SimulateService } from '../../server/simulate/simulate-service.js';
import { simulateStore } from '../../server/simulate/simulate-store.js';
import { seededRng } from '../integration/invariant/prng.js';
import { benchDatabase } from './bench-db.js';
import { seedReplayHistory } from './replay-db-seed.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('gateways', 10_000);
const DAYS = arg('days', 7);
const H = 3_600_000;
const end = DAYS * 24 * H;
const rng = seededRng(21);

const gateways: SimGateway[] = [];
const events: SimEvent[] = [];
for (let gw = 0; gw < N; gw++) {
  const base = rng.int(20, 200);
  gateways.push({ priority: rng.int(0, 3), allocation: { tags: base, connections: rng.int(1, 4) }, online: true, ...(gw % 2 ? { bounds: { tags: { min: 10, max: base * 2 } } } : {}) });
  for (let t = rng.int(0, H); t < end; t += rng.int(H / 2, 2 * H)) events.push({ t, kind: 'usage', gw, points: { tags: rng.int(0, base * 1.5), connections: rng.int(0, 3) } });
  for (let t = rng.int(0, 12 * H); t < end; t += rng.int(6 * H, 18 * H)) {
    const away = rng.chance(0.8) ? rng.int(60_000, 15 * 60_000) : rng.int(H, 8 * H);
    if (rng.chance(0.05)) events.push({ t: t - 1, kind: 'borrow', gw, durationSec: 8 * 3600 });
    events.push({ t, kind: 'presence', gw, online: false });
    events.push({ t: t + away, kind: 'presence', gw, online: true });
  }
  for (let t = rng.int(0, 24 * H); t < end; t += rng.int(12 * H, 36 * H)) events.push({ t, kind: 'alloc', gw, points: { tags: rng.int(20, 250), connections: rng.int(1, 4) } });
}
events.sort((a, b) => a.t - b.t);
// Sized so the pool is tight: the fleet asks about its capacity.
const capacity = { tags: Math.floor(N * 110), connections: N * 3 };
const inForce: SimSettings = { capacity, overdraftFactor: 1, ttlSec: 300, reclaim: 'on-expiry', graceSec: 60, elastic: null, borrowMaxSec: 86_400, borrowMaxFraction: 0.1, falseReclaimWindowSec: 3600 };
const whatIf: SimSettings = { ...inForce, ttlSec: 1800, elastic: { headroom: 0.25, step: 0.25, cooldownSec: 900 } };

// CPU time too: on a loaded machine (2 cores shared) wall time says more about the neighbours.
const c0 = process.cpuUsage();
const t0 = performance.now();
// As SimulateService does: the events compiled once (columns of numbers), then both replays.
const log = compileEvents(events);
const a = replay(gateways, log, inForce, 0, end);
const t1 = performance.now();
const b = replay(gateways, log, whatIf, 0, end);
const t2 = performance.now();
const cpu = process.cpuUsage(c0);
const fmt = (r: ReturnType<typeof replay>) =>
  `stranded ${r.strandedPointHours.tags.toFixed(0)} tag-h, reclaims ${r.reclaims} (false ${r.falseReclaims}), queued ${r.queuedRequests} (${r.queuedPointHours.tags.toFixed(0)} tag-h), refused borrows ${r.refusedBorrows}, resizes ${r.elasticResizes}, peak ${(r.peakUtilization.tags * 100).toFixed(1)}%`;
console.log(`[replay] ${N} gateways × ${DAYS} days: ${events.length} events`);
console.log(`[replay] in force (TTL 300 s, fixed): ${(t1 - t0).toFixed(0)} ms; ${fmt(a)}`);
console.log(`[replay] what if (TTL 1800 s, elastic 25%/900 s): ${(t2 - t1).toFixed(0)} ms; ${fmt(b)}`);
console.log(`[replay] both replays: ${((t2 - t0) / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU (budget 30 s)`);

if (process.argv.includes('--db')) {
  const pg = await benchDatabase();
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const database = openDatabase(pg.url, 4);
  try {
    const base = Date.parse('2026-11-01T00:00:00Z');
    const s0 = performance.now();
    const poolId = await seedReplayHistory(sql, gateways, events, capacity, base);
    console.log(`[replay --db] seeded ${events.length} rows in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
    const r0 = performance.now();
    const rows = await simulateStore.history(database.db, poolId, new Date(base), new Date(base + end));
    console.log(`[replay --db] history read alone: ${rows.length} rows in ${(performance.now() - r0).toFixed(0)} ms`);
    const sim = new SimulateService(database.db, () => base + end);
    const t = performance.now();
    const v = await sim.simulate(poolId, { days: DAYS, settings: { ttlSec: 1800, elastic: { headroom: 0.25, step: 0.25, cooldownSec: 900 } } });
    const total = performance.now() - t;
    console.log(`[replay --db] ${v.gateways} gateways, ${v.events} events; in force: ${fmt(v.inForce.report)}`);
    console.log(`[replay --db] what if: ${fmt(v.whatIf.report)}`);
    console.log(`[replay --db] POST /simulate path: ${(total / 1000).toFixed(2)} s (both replays ${(v.elapsedMs / 1000).toFixed(2)} s) (budget 30 s)`);
  } finally {
    await sql.end();
    await database.close();
    await pg.stop();
  }
}
