import crypto from 'node:crypto';
import { openDatabase } from '../../server/db/database.js';
import { ControllerMetrics } from '../../server/metrics/controller-metrics.js';
import { poolSnapshotSource } from '../../server/metrics/pool-snapshot.js';

export interface ScrapeResult {
  gateways: number;
  liveLeases: number;
  snapshotMs: { p50: number; p99: number };
  scrapeMs: { p50: number; p99: number };
  bytes: number;
}

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** Seeds `gateways` gateways in 4 pools, each with a live lease, then times /metrics generation. */
export async function scrapeBench(url: string, gateways: number, rounds = 30): Promise<ScrapeResult> {
  const database = openDatabase(url, 4);
  const sql = database.sql;
  const pools = Array.from({ length: 4 }, (_, i) => ({ id: crypto.randomUUID(), name: `bench-${i}-${crypto.randomBytes(3).toString('hex')}` }));
  for (const p of pools) {
    await sql`insert into pools (id, name, capacity_tags, capacity_connections, license_expires_at) values (${p.id}, ${p.name}, ${gateways * 100}, ${gateways * 10}, now() + interval '1 year')`;
  }
  // Seeded in SQL, in batches: the benchmark measures the scrape, not the seeding.
  await sql`
    insert into gateways (id, pool_id, name, hardware_id, credential_hash, alloc_tags, alloc_connections, online, usage_tags, usage_connections, lease_seq)
    select gen_random_uuid(), (${sql.array(pools.map((p) => p.id))}::uuid[])[1 + (i % 4)], 'gw-' || i, md5(i::text), md5(random()::text), 50, 5, i % 10 <> 0, 30, 3, 1
    from generate_series(1, ${gateways}) as i`;
  await sql`
    insert into leases (id, gateway_id, pool_id, seq, kid, tags, connections, plugins, issued_at, expires_at, state)
    select gen_random_uuid(), g.id, g.pool_id, 1, 'bench', 50, 5, '{}', now(), now() + interval '300 seconds', 'acknowledged' from gateways g`;
  await sql`analyze`;
  const metrics = new ControllerMetrics(poolSnapshotSource(database.db), { wsConnected: () => 0, cacheMs: 0 });
  const source = poolSnapshotSource(database.db);
  const snap: number[] = [];
  const scrape: number[] = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await source.snapshot();
    snap.push(performance.now() - t);
    t = performance.now();
    bytes = (await metrics.registry.metrics()).length;
    scrape.push(performance.now() - t);
  }
  const [{ n }] = (await sql`select count(*)::int as n from leases where state in ('issued','acknowledged') and expires_at > now()`) as unknown as [{ n: number }];
  await database.close();
  return { gateways, liveLeases: n, snapshotMs: { p50: pct(snap, 0.5), p99: pct(snap, 0.99) }, scrapeMs: { p50: pct(scrape, 0.5), p99: pct(scrape, 0.99) }, bytes };
}
