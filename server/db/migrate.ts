import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { installKeepGuard } from '../leases/keep-guard.js';

export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

// drizzle's migrate() does not lock (drizzle-orm#874); replicas starting together serialise here.
const MIGRATION_LOCK_KEY = 0x666c6561; // "flea"

/** Applies pending migrations, then the commit-time keep guard, on one session that holds a PostgreSQL advisory lock. */
export async function migrateDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
      // Built from the lease-accounting rule in code, not frozen in a migration (see keep-guard.ts).
      await installKeepGuard(sql);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
