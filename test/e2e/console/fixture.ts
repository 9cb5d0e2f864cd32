import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startControllerProcess, type ControllerProcess } from '../../helpers/controller-process.js';
import { restClient } from '../../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { createTestVendor, type TestVendor } from '../../helpers/vendor.js';
import { startBrowser, type TestBrowser } from './browser.js';

export interface ConsoleFixture {
  readonly dir: string;
  readonly vendor: TestVendor;
  readonly db: TestDatabase;
  readonly ctl: ControllerProcess;
  readonly browser: TestBrowser;
  readonly page: Page;
  readonly api: ReturnType<typeof restClient>;
  /** Creates a pool with a license of `tags`/`connections` and returns its id. */
  pool(name: string, opts: { tags: number; connections: number; plugins?: string[]; expiresInSec?: number }): Promise<string>;
  /** Enrolls a gateway into the pool over REST (no agent process) and returns its id and credential. */
  gateway(poolId: string, name: string): Promise<{ id: string; credential: string }>;
  /** Reports usage as the gateway's agent would. */
  usage(credential: string, tags: number, connections: number): Promise<void>;
  close(): Promise<void>;
}

let hardware = 0;

/** A controller on a fresh database and a Chromium tab already signed in as admin (the token in the tab's session). */
export async function startConsoleFixture(admin: string, env: Record<string, string> = {}, viewport?: { width: number; height: number }): Promise<ConsoleFixture> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-console-fx-'));
  const vendor = await createTestVendor(dir);
  const db = await createTestDatabase();
  const [ctl, browser] = await Promise.all([
    // Generous: a controller rebuilds the console first when its sources changed.
    startControllerProcess({ DATABASE_URL: db.url, ADMIN_TOKEN: admin, TRUSTED_ISSUERS: vendor.publicJwkFile, ...env }, { readyTimeoutMs: 120_000 }),
    startBrowser(viewport),
  ]);
  const page = browser.page;
  page.setDefaultTimeout(10_000);
  await browser.context.addInitScript((t) => sessionStorage.setItem('floatlease.token', t), admin);
  const api = restClient(() => ctl.url, admin);
  return {
    dir,
    vendor,
    db,
    ctl,
    browser,
    page,
    api,
    async pool(name, opts) {
      const created = await api<{ id: string }>('POST', '/api/v1/pools', { name });
      if (created.status !== 201 && created.status !== 200) throw new Error(`pool ${name}: ${created.status} ${JSON.stringify(created.body)}`);
      const up = await api('PUT', `/api/v1/pools/${created.body.id}/license`, { license: await vendor.license(opts) });
      if (up.status !== 200) throw new Error(`license ${name}: ${up.status} ${JSON.stringify(up.body)}`);
      return created.body.id;
    },
    async gateway(poolId, name) {
      const code = await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 1 });
      const res = await fetch(`${ctl.url}/api/v1/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ activationCode: code.body.code, hardwareId: crypto.createHash('sha256').update(`fixture-hw-${process.pid}-${++hardware}-${name}`).digest('base64'), name }),
      });
      if (res.status !== 200) throw new Error(`enroll ${name}: ${res.status} ${await res.text()}`);
      const gw = (await res.json()) as { gatewayId: string; credential: string };
      return { id: gw.gatewayId, credential: gw.credential };
    },
    async usage(credential, tags, connections) {
      const res = await fetch(`${ctl.url}/api/v1/agent/usage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
        body: JSON.stringify({ tags, connections }),
      });
      if (res.status !== 204) throw new Error(`usage: ${res.status} ${await res.text()}`);
    },
    async close() {
      await browser.close();
      await ctl.stop('SIGKILL');
      await db.drop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** The KEY=VALUE assignments in front of a shell command, unquoted. */
export function envOfCommand(command: string): Record<string, string> {
  const env: Record<string, string> = {};
  const re = /([A-Z_][A-Z0-9_]*)=('(?:[^']|'\\'')*'|\S+)\s+/gy;
  for (let m = re.exec(command); m; m = re.exec(command)) {
    const raw = m[2]!;
    env[m[1]!] = raw.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/g, "'") : raw;
  }
  return env;
}
