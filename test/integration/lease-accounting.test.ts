import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldByGatewaySql, heldPoints, pendingPoints, pendingSql, type GatewayFacts, type LeaseFacts } from '../../server/leases/lease-accounting.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { seededRng } from './invariant/prng.js';

/** Issue 22 item 1: the SQL and the TypeScript of lease accounting agree, on random data. */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('lease accounting: SQL and TypeScript say the same', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: held and pending per gateway`, async () => {
      const sql = db.database.sql;
      const rng = seededRng(seed);
      const nowMs = Date.UTC(2027, 0, 1) + rng.int(0, 1000) * 1000;
      const [pool] = await sql<{ id: string }[]>`insert into pools (name) values (${`p-${seed}-${crypto.randomUUID()}`}) returning id`;
      const gateways = new Map<string, GatewayFacts>();
      const leases = new Map<string, LeaseFacts[]>();
      for (let i = 0; i < 40; i++) {
        const g: GatewayFacts = { reserved: rng.chance(0.3), revoked: rng.chance(0.15), online: rng.chance(0.6), allocTags: rng.int(0, 100), allocConnections: rng.int(0, 10) };
        const [row] = await sql<{ id: string }[]>`
          insert into gateways (pool_id, name, hardware_id, credential_hash, alloc_tags, alloc_connections, reserved, online, revoked_at)
          values (${pool!.id}, ${`g${i}`}, ${crypto.randomUUID()}, 'x', ${g.allocTags}, ${g.allocConnections}, ${g.reserved}, ${g.online}, ${g.revoked ? new Date(nowMs).toISOString() : null})
          returning id`;
        gateways.set(row!.id, g);
        const mine: LeaseFacts[] = [];
        for (let seq = 1; seq <= rng.int(0, 5); seq++) {
          const ended = rng.chance(0.4);
          // Expiry within ±3 s of now, including exactly now (not live: exp must be after now).
          const l: LeaseFacts = { tags: rng.int(0, 120), connections: rng.int(0, 12), endedAt: ended ? new Date(nowMs - 1000) : null, expiresAt: new Date(nowMs + rng.int(-3, 3) * 1000) };
          mine.push(l);
          await sql`
            insert into leases (id, gateway_id, pool_id, seq, kid, tags, connections, plugins, issued_at, expires_at, state, ended_at)
            values (${crypto.randomUUID()}, ${row!.id}, ${pool!.id}, ${seq}, 'k', ${l.tags}, ${l.connections}, '{}', ${new Date(nowMs - 60_000).toISOString()},
              ${l.expiresAt.toISOString()}, ${ended ? rng.pick(['released', 'expired', 'reclaimed', 'superseded']) : rng.pick(['issued', 'acknowledged'])},
              ${l.endedAt ? l.endedAt.toISOString() : null})`;
        }
        leases.set(row!.id, mine);
      }
      const rows = await sql<{ gateway_id: string; held_tags: number; held_connections: number; pend_tags: number; pend_connections: number }[]>`
        with clock as (select to_timestamp(${nowMs}::float8 / 1000) as t)
        select h.gateway_id, h.held_tags, h.held_connections, ${sql.unsafe(pendingSql('h', 'tags'))} as pend_tags, ${sql.unsafe(pendingSql('h', 'connections'))} as pend_connections
        from (${sql.unsafe(heldByGatewaySql('(select t from clock)'))}) h where h.pool_id = ${pool!.id}`;
      expect(rows).toHaveLength(40);
      let nonZero = 0;
      for (const r of rows) {
        const g = gateways.get(r.gateway_id)!;
        const held = heldPoints(g, leases.get(r.gateway_id)!, nowMs);
        expect({ tags: r.held_tags, connections: r.held_connections }).toEqual(held);
        expect({ tags: r.pend_tags, connections: r.pend_connections }).toEqual(pendingPoints(g, held));
        if (held.tags > 0) nonZero++;
      }
      // The data exercise the rule (not all zero).
      expect(nonZero).toBeGreaterThan(5);
    });
  }
});
