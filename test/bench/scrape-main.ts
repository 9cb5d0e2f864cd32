import { benchDatabase } from './bench-db.js';
import { scrapeBench } from './scrape-bench.js';

/** `npm run bench:scrape [-- N]`: /metrics generation time with N gateways (default 10,000), each with a live lease. */
const gateways = Number(process.argv[2] ?? 10_000);
const db = await benchDatabase();
try {
  const r = await scrapeBench(db.url, gateways);
  console.log(`gateways ${r.gateways}, live leases ${r.liveLeases}`);
  console.log(`pool snapshot query   p50 ${r.snapshotMs.p50.toFixed(1)} ms   p99 ${r.snapshotMs.p99.toFixed(1)} ms`);
  console.log(`full /metrics render  p50 ${r.scrapeMs.p50.toFixed(1)} ms   p99 ${r.scrapeMs.p99.toFixed(1)} ms   (${r.bytes} bytes, uncached)`);
  console.log(JSON.stringify(r));
} finally {
  await db.stop();
}
