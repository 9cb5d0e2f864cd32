import { expect } from 'vitest';
import type { Harness } from '../../helpers/api-harness.js';

interface TableState {
  readonly rows: number;
  /** md5 over every row's text form, in a stable order; null for an empty table. */
  readonly hash: string | null;
}

export type DbSnapshot = Readonly<Record<string, TableState>>;

async function publicTables(h: Harness): Promise<string[]> {
  const rows = await h.db.database.sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'
    order by table_name`;
  return rows.map((r) => r.name);
}

/** Row count and content hash of every table in the public schema. */
export async function snapshotDatabase(h: Harness): Promise<DbSnapshot> {
  const out: Record<string, TableState> = {};
  for (const table of await publicTables(h)) {
    const [state] = await h.db.database.sql.unsafe<TableState[]>(
      `select count(*)::int as rows, md5(string_agg(t::text, ',' order by t::text)) as hash from "${table}" t`,
    );
    out[table] = state!;
  }
  return out;
}

/**
 * API tokens record their last use at most once a minute, in the background. Pinning it to now
 * means no such bookkeeping write can land between two snapshots taken within the next minute.
 */
export async function pinTokenLastUse(h: Harness): Promise<void> {
  await h.db.database.sql`update api_tokens set last_used_at = now()`;
}

/** Runs `attempt` (requests that must be refused) and checks that no table changed in content or size. */
export async function expectDatabaseUnchanged(h: Harness, attempt: () => Promise<void>): Promise<void> {
  await pinTokenLastUse(h);
  const before = await snapshotDatabase(h);
  await attempt();
  expect(await snapshotDatabase(h)).toEqual(before);
}

/** Tables (and the number of rows) whose text form contains `needle`. */
export async function tablesContaining(h: Harness, needle: string): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const table of await publicTables(h)) {
    const [r] = await h.db.database.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from "${table}" t where strpos(t::text, $1) > 0`, [needle]);
    if (r && r.n > 0) found[table] = r.n;
  }
  return found;
}
