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
  close(): Promise<void>;
}

/** A controller on a fresh database and a Chromium tab already signed in as admin (the token in the tab's session). */
export async function startConsoleFixture(admin: string, env: Record<string, string> = {}, viewport?: { width: number; height: number }): Promise<ConsoleFixture> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-console-fx-'));
  const vendor = await createTestVendor(dir);
  const db = await createTestDatabase();
  const [ctl, browser] = await Promise.all([
    startControllerProcess({ DATABASE_URL: db.url, ADMIN_TOKEN: admin, TRUSTED_ISSUERS: vendor.publicJwkFile, ...env }),
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
