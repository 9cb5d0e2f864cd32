import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../server/db/embedded-postgres.js';
import { migrateDatabase } from '../../server/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL, database `postgres`. */
    pgAdminUrl: string;
    /** Name of the migrated template database that test files clone. */
    pgTemplate: string;
  }
}

export const TEMPLATE_DB = 'floatlease_template';

let pg: EmbeddedPostgresHandle | undefined;
let dir: string | undefined;

/** One real PostgreSQL per run; the schema is migrated once into a template database. */
export async function setup(project: TestProject): Promise<void> {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-test-pg-'));
  await fs.chmod(dir, 0o711);
  pg = await startEmbeddedPostgres({
    dir,
    port: 0,
    database: TEMPLATE_DB,
    logger: pino({ level: 'warn' }),
  });
  await migrateDatabase(pg.url);
  const adminUrl = new URL(pg.url);
  adminUrl.pathname = '/postgres';
  // Template databases must have no open sessions while they are cloned.
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${TEMPLATE_DB} and pid <> pg_backend_pid()`;
  await admin.end();
  project.provide('pgAdminUrl', adminUrl.toString());
  project.provide('pgTemplate', TEMPLATE_DB);
}

export async function teardown(): Promise<void> {
  await pg?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}
