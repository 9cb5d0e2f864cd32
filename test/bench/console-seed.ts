import crypto from 'node:crypto';
import type { Sql } from 'postgres';

const SITES = ['berlin', 'munich', 'shanghai', 'austin', 'lyon'];
const KINDS = ['press', 'robot', 'oven', 'packer'];

/** Names like `berlin-press-00042`, so searches match a few thousand, hundreds, a handful or one. */
export const consoleGatewayName = (i: number): string => `${SITES[i % SITES.length]}-${KINDS[Math.floor(i / SITES.length) % KINDS.length]}-${String(i).padStart(5, '0')}`;

/**
 * Inserts `count` gateways into one pool straight in SQL, with presence, usage, allocation and one
 * live lease each, so the list query does the work it does in a real fleet.
 */
export async function seedConsoleFleet(sql: Sql, poolId: string, count: number): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < count; start += 1_000) {
    const gateways = [];
    const leases = [];
    for (let i = start; i < Math.min(count, start + 1_000); i++) {
      const id = crypto.randomUUID();
      const alloc = 10 + (i % 90);
      const online = i % 10 < 7;
      const seen = new Date(now - (i % 3_600) * 1_000);
      gateways.push({
        id,
        pool_id: poolId,
        name: consoleGatewayName(i),
        hardware_id: crypto.createHash('sha256').update(`console-bench-${i}`).digest('base64'),
        credential_hash: crypto.createHash('sha256').update(id).digest('hex'),
        alloc_tags: alloc,
        alloc_connections: 1 + (i % 8),
        alloc_plugins: i % 3 === 0 ? ['OPC UA'] : [],
        lease_seq: 1,
        online,
        transport: online ? (i % 2 ? 'mqtt' : 'ws') : null,
        presence_changed_at: seen,
        last_seen_at: seen,
        usage_tags: Math.floor(alloc * ((i * 37) % 100) / 100),
        usage_connections: i % 8,
        usage_reported_at: seen,
      });
      leases.push({
        id: crypto.randomUUID(),
        gateway_id: id,
        pool_id: poolId,
        seq: 1,
        kid: 'bench',
        tags: alloc,
        connections: 1 + (i % 8),
        plugins: [],
        issued_at: new Date(now),
        expires_at: new Date(now + 3_600_000),
        state: 'acknowledged',
      });
    }
    await sql`insert into gateways ${sql(gateways)}`;
    await sql`insert into leases ${sql(leases)}`;
  }
  // The state autovacuum keeps a fleet enrolled over time in: statistics, and the trigram index's
  // pending list merged (10,000 rows inserted at once would otherwise sit in it until autovacuum's
  // next round, and the planner rightly prices a long pending list as a scan).
  await sql`vacuum analyze gateways`;
  await sql`vacuum analyze leases`;
}
