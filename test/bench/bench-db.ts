import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { startEmbeddedPostgres } from '../../server/db/embedded-postgres.js';
import { migrateDatabase } from '../../server/db/migrate.js';

/** A throwaway embedded PostgreSQL for a benchmark run (or the given DATABASE_URL). */
export async function benchDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    await migrateDatabase(process.env.DATABASE_URL);
    return { url: process.env.DATABASE_URL, stop: async () => {} };
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-bench-pg-'));
  await fs.chmod(dir, 0o711);
  const pg = await startEmbeddedPostgres({ dir, port: 0, database: 'bench', logger: pino({ level: 'warn' }) });
  await migrateDatabase(pg.url);
  return {
    url: pg.url,
    async stop() {
      await pg.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
