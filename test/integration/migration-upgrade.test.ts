import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, migrateDatabase } from '../../server/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** A copy of the migrations folder that stops after the first `count` migrations, as an older release shipped it. */
async function migrationsUpTo(count: number): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-migrations-'));
  const journal = JSON.parse(await fs.readFile(path.join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.slice(0, count);
  await fs.mkdir(path.join(dir, 'meta'));
  await fs.writeFile(path.join(dir, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) await fs.copyFile(path.join(MIGRATIONS_FOLDER, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  return dir;
}

let db: TestDatabase | undefined;
const dirs: string[] = [];
afterAll(async () => {
  await db?.drop();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('upgrading a populated database', () => {
  it('from the first release: every lease keeps its meaning, ended ones get an end time, and the live indexes serve', async () => {
    db = await createTestDatabase({ empty: true });
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const first = await migrationsUpTo(1);
      dirs.push(first);
      await migrate(drizzle(sql), { migrationsFolder: first });
      const pool = crypto.randomUUID();
      const gw = crypto.randomUUID();
      await sql`insert into pools (id, name, capacity_tags, capacity_connections, license_expires_at) values (${pool}, 'plant', 100, 10, now() + interval '1 year')`;
      await sql`insert into gateways (id, pool_id, name, hardware_id, credential_hash, lease_seq) values (${gw}, ${pool}, 'press', 'hw', 'x', 3)`;
      const lease = (seq: number, state: string, ended: boolean) => sql`
        insert into leases (id, gateway_id, pool_id, seq, kid, tags, connections, plugins, issued_at, expires_at, state, ended_at)
        values (${crypto.randomUUID()}, ${gw}, ${pool}, ${seq}, 'k', 10, 1, '{}', now() - interval '1 hour', now() + interval '1 hour', ${state}, case when ${ended}::boolean then now() end)`;
      await lease(1, 'superseded', true);
      await lease(2, 'expired', false); // an end time the first release did not require
      await lease(3, 'acknowledged', false);

      await migrateDatabase(db.url);

      const rows = await sql`select seq, state, ended_at is null as open, ended_at = issued_at as backfilled from leases order by seq`;
      expect(rows.map((r) => `${r.seq}:${r.state}:${r.open ? 'live' : 'ended'}${r.backfilled ? ':backfilled' : ''}`)).toEqual([
        '1:superseded:ended',
        '2:expired:ended:backfilled',
        '3:acknowledged:live',
      ]);
      await expect(sql`update leases set ended_at = now() where seq = 3`).rejects.toMatchObject({ code: '23514' });
      const indexes = (await sql`select indexname from pg_indexes where tablename = 'leases' order by indexname`).map((r) => r.indexname as string);
      expect(indexes).toEqual(['leases_ended_idx', 'leases_gateway_seq_uq', 'leases_live_expiry_idx', 'leases_live_gateway_idx', 'leases_live_pool_idx', 'leases_pkey']);
      const options = await sql`select relname, reloptions from pg_class where relname in ('leases', 'gateways') order by relname`;
      expect(options.map((r) => `${r.relname}:${String(r.reloptions)}`)).toEqual(['gateways:fillfactor=80', 'leases:fillfactor=80']);
      // Applying again changes nothing.
      await migrateDatabase(db.url);
      const journal = JSON.parse(await fs.readFile(new URL('../../drizzle/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
      expect((await sql`select count(*)::int as n from drizzle.__drizzle_migrations`)[0]!.n).toBe(journal.entries.length);
    } finally {
      await sql.end();
    }
  });
});
