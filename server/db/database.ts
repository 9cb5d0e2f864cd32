import postgres, { type Sql } from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema.js';

/** Drizzle over postgres.js; `$client` is the raw pool, for the few set-based statements written in SQL. */
export type Db = PostgresJsDatabase<typeof schema> & { $client: Sql };
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  readonly db: Db;
  readonly sql: Sql;
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export function openDatabase(url: string, poolMax: number): Database {
  const sql = postgres(url, {
    max: poolMax,
    onnotice: () => {},
    connect_timeout: 10,
    // Undefined/unknown types stay as strings; drizzle maps the columns it owns.
    connection: { application_name: 'floatlease' },
  });
  const db = drizzle(sql, { schema });
  return {
    db,
    sql,
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('database ping timed out')), timeoutMs);
        });
        await Promise.race([sql`select 1`, timeout]);
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
