import crypto from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { duplicateAuditEvents } from './audit-duplicates.js';
import { InvariantWatch, type Enforced, type WatchedAgent } from './invariant-watch.js';

/**
 * The two checkers the two-replica e2e runs (test/e2e/replicas/) must be able to fail: each is
 * shown a clean state first, then one that breaks what it checks.
 */
describe('run checkers of the multi-process e2e', () => {
  let db: TestDatabase;
  let checkSql: postgres.Sql;
  let poolId: string;
  const gateways: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    checkSql = postgres(db.url, { max: 2, onnotice: () => {} });
    const sql = db.database.sql;
    const [pool] = await sql<{ id: string }[]>`insert into pools (name, capacity_tags, capacity_connections) values ('p', 100, 10) returning id`;
    poolId = pool!.id;
    for (const name of ['a', 'b']) {
      const [g] = await sql<{ id: string }[]>`
        insert into gateways (pool_id, name, hardware_id, credential_hash, alloc_tags, alloc_connections, online)
        values (${poolId}, ${name}, ${crypto.randomUUID()}, 'x', 60, 4, true) returning id`;
      gateways.push(g!.id);
    }
  });

  afterAll(async () => {
    await checkSql?.end();
    await db?.drop();
  });

  const lease = (gatewayId: string, seq: number, tags: number) => db.database.sql`
    insert into leases (id, gateway_id, pool_id, seq, kid, tags, connections, plugins, issued_at, expires_at, state)
    values (${crypto.randomUUID()}, ${gatewayId}, ${poolId}, ${seq}, 'k', ${tags}, 4, '{}', now(), now() + interval '10 minutes', 'issued')`;
  const agent = (name: string, e: Enforced): WatchedAgent => ({ name, poolId, enforced: async () => e });

  it('InvariantWatch: quiet within the limit, reports the database and the agents above it', async () => {
    await lease(gateways[0]!, 1, 60);
    const within = [agent('a', { mode: 'FLOATING', tags: 60, connections: 4 }), agent('b', { mode: 'TRIAL', tags: 90, connections: 9 })];
    const quiet = new InvariantWatch(checkSql, () => within, { intervalMs: 10 });
    await quiet.sample();
    const ok = await quiet.stop(10_000);
    expect(ok.violations).toEqual([]);
    expect(ok.agentSamples).toBe(2);
    // The trial allowance is not the pool's: only the floating agent counts.
    expect(ok.peakEnforced.get(poolId)).toEqual({ tags: 60, connections: 4 });

    await lease(gateways[1]!, 1, 60);
    const above = [agent('a', { mode: 'FLOATING', tags: 60, connections: 4 }), agent('b', { mode: 'FLOATING', tags: 60, connections: 4 })];
    const loud = new InvariantWatch(checkSql, () => above, { intervalMs: 10 });
    await loud.sample();
    const bad = await loud.stop(10_000);
    expect(bad.violations.some((v) => v.includes('lease-accounting') && v.includes('120 tags > limit 100'))).toBe(true);
    expect(bad.violations.some((v) => v.includes('independent checker') && v.includes('120 tags > limit 100'))).toBe(true);
    expect(bad.violations.some((v) => v.includes('agents of pool') && v.includes('120/8 > limit 100/10'))).toBe(true);
    // A spread wider than allowed: the agent samples are set aside, not judged.
    const strict = new InvariantWatch(checkSql, () => above, { intervalMs: 10 });
    await strict.sample();
    const aside = await strict.stop(-1);
    expect(aside.agentSamples).toBe(0);
    expect(aside.agentSamplesSetAside).toBe(2);
  });

  it('duplicateAuditEvents: none for distinct facts; a lease audited twice, a repeated presence flip and a miscount are reported', async () => {
    const sql = db.database.sql;
    const [a, b] = gateways as [string, string];
    const audit = (action: string, gatewayId: string, after: unknown, at: string) =>
      sql`insert into audit_events (actor, action, pool_id, gateway_id, after, at) values ('t', ${action}, ${poolId}, ${gatewayId}, ${JSON.stringify(after)}::jsonb, ${at}::timestamptz)`;
    await audit('lease.granted', a, { seq: 1 }, '2027-01-01T00:00:01Z');
    await audit('lease.renewed', a, { seq: 2 }, '2027-01-01T00:00:02Z');
    await audit('gateway.online', a, {}, '2027-01-01T00:00:03Z');
    await audit('gateway.offline', a, {}, '2027-01-01T00:00:04Z');
    await audit('allocation.changed', a, {}, '2027-01-01T00:00:05Z');
    await audit('allocation.changed.forced', a, {}, '2027-01-01T00:00:06Z');
    expect(await duplicateAuditEvents(sql, [{ action: 'allocation.changed', gatewayId: a, count: 2 }])).toEqual([]);

    await audit('lease.renewed', a, { seq: 2 }, '2027-01-01T00:00:07Z');
    await audit('gateway.offline', a, {}, '2027-01-01T00:00:08Z');
    await audit('allocation.changed', b, {}, '2027-01-01T00:00:09Z');
    const found = await duplicateAuditEvents(sql, [
      { action: 'allocation.changed', gatewayId: a, count: 2 },
      { action: 'allocation.changed', gatewayId: b, count: 2 },
    ]);
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(/lease seq 2 .* audited 2 times/);
    expect(found[1]).toMatch(/gateway.offline .* repeats the one before/);
    expect(found[2]).toMatch(/allocation.changed of gateway .*: 1 events for 2 changes/);
  });
});
