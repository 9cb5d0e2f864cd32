import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../../server/db/migrate.js';
import { createTestDatabase } from '../helpers/test-database.js';
import { spawnTs, startControllerProcess, waitExit } from '../helpers/controller-process.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function postgresProcessesUsing(dir: string): string[] {
  const out = spawnSync('pgrep', ['-af', 'postgres']).stdout.toString();
  return out.split('\n').filter((l) => l.includes(dir));
}

describe('controller on the embedded defaults', () => {
  it('starts with no configuration, stops on SIGINT leaving nothing behind, and reuses its data', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-embedded-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));

    // Start and stop are bounded by the helpers' own timeouts; how long they take is no assertion.
    const first = await startControllerProcess({ DATA_DIR: dataDir });
    cleanups.push(() => first.stop('SIGKILL'));
    const ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { database: 'up', broker: 'up' } });
    expect(first.logs.some((l) => l.msg === 'initialising embedded PostgreSQL cluster')).toBe(true);
    expect(postgresProcessesUsing(dataDir).length).toBeGreaterThan(0);

    expect(await first.stop('SIGINT')).toBe(0);
    expect(postgresProcessesUsing(dataDir)).toEqual([]);

    const pgVersion = path.join(dataDir, 'postgres', 'data', 'PG_VERSION');
    const before = (await fs.stat(pgVersion)).mtimeMs;
    const second = await startControllerProcess({ DATA_DIR: dataDir });
    cleanups.push(() => second.stop('SIGKILL'));
    expect(second.logs.some((l) => l.msg === 'initialising embedded PostgreSQL cluster')).toBe(false);
    expect((await fs.stat(pgVersion)).mtimeMs).toBe(before);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(postgresProcessesUsing(dataDir)).toEqual([]);
  }, 90_000);
});

describe('controller killed with SIGKILL on the embedded defaults', () => {
  it('starts again on the same data folder', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-killed-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const first = await startControllerProcess({ DATA_DIR: dataDir });
    await first.stop('SIGKILL');
    // Its PostgreSQL outlives it.
    expect(postgresProcessesUsing(dataDir).length).toBeGreaterThan(0);
    const second = await startControllerProcess({ DATA_DIR: dataDir });
    cleanups.push(() => second.stop('SIGKILL'));
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(postgresProcessesUsing(dataDir)).toEqual([]);
  }, 90_000);
});

describe('configuration errors', () => {
  it.each([
    ['PORT', 'abc'],
    ['DATABASE_URL', 'not-a-url'],
    ['LOG_LEVEL', 'loud'],
  ])('%s=%s exits non-zero with one line naming the variable and starts nothing', async (name, value) => {
    const dataDir = path.join(os.tmpdir(), `floatlease-badcfg-${process.pid}-${name}`);
    const child = spawnTs('server/main.ts', { DATA_DIR: dataDir, [name]: value });
    let stderr = '';
    let stdout = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await waitExit(child);
    expect(code).not.toBe(0);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
    expect(lines[0]).toMatch(/expected/);
    expect(stdout).toBe('');
    await expect(fs.access(dataDir)).rejects.toThrow();
  });
});

describe('two controllers against one empty database', () => {
  it('both become ready and the migrations ran once', async () => {
    const db = await createTestDatabase({ empty: true });
    cleanups.push(() => db.drop());
    const [a, b] = await Promise.all([
      startControllerProcess({ DATABASE_URL: db.url }),
      startControllerProcess({ DATABASE_URL: db.url }),
    ]);
    cleanups.push(() => a!.stop('SIGKILL'), () => b!.stop('SIGKILL'));
    expect((await fetch(`${a!.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${b!.url}/readyz`)).status).toBe(200);
    const journal = JSON.parse(await fs.readFile(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    const sql = postgres(db.url, { max: 1 });
    const rows = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    await sql.end();
    expect(rows[0]?.n).toBe(journal.entries.length);
    await Promise.all([a!.stop(), b!.stop()]);
  }, 60_000);
});
