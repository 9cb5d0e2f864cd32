import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { freePort } from '../helpers/ports.js';
import { createTestVendor, type TestVendor } from '../helpers/vendor.js';
import { AdminApi } from './admin-api.js';

export interface BenchControllerOptions {
  readonly databaseUrl: string | undefined;
  readonly mqttUrl: string | undefined;
  readonly mqttUsername: string | undefined;
  readonly mqttPassword: string | undefined;
  readonly sweepIntervalMs: number;
  readonly issuer: string;
  /** Extra NODE_OPTIONS for the controller process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
  readonly nodeOptions?: string | undefined;
}

export interface BenchController {
  readonly process: ControllerProcess;
  readonly admin: AdminApi;
  readonly vendor: TestVendor;
  /** The database the controller uses (its embedded one unless DATABASE_URL was given). */
  readonly databaseUrl: string;
  readonly mqttUrl: string;
  readonly embeddedBroker: boolean;
  stop(): Promise<void>;
}

/**
 * The real controller (server/main.ts) as a child process, on its embedded PostgreSQL and aedes
 * unless URLs are given, with an admin token and a trusted pool-license vendor key.
 */
export async function startBenchController(o: BenchControllerOptions): Promise<BenchController> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-bench-'));
  await fs.chmod(dir, 0o711);
  const vendor = await createTestVendor(dir);
  const adminToken = `fl_${crypto.randomBytes(32).toString('base64url')}`;
  const pgPort = o.databaseUrl ? 0 : await freePort();
  const env: Record<string, string> = {
    DATA_DIR: path.join(dir, 'data'),
    ADMIN_TOKEN: adminToken,
    TRUSTED_ISSUERS: vendor.publicJwkFile,
    SWEEP_INTERVAL_MS: String(o.sweepIntervalMs),
    LEASE_ISSUER: o.issuer,
    ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : { EMBEDDED_PG_PORT: String(pgPort) }),
    ...(o.mqttUrl ? { MQTT_URL: o.mqttUrl } : {}),
    ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}),
    ...(process.env.BENCH_PROFILE_DIR ? { BENCH_PROFILE_DIR: process.env.BENCH_PROFILE_DIR } : {}),
    ...(process.env.BENCH_PROFILE_PHASE ? { BENCH_PROFILE_PHASE: process.env.BENCH_PROFILE_PHASE } : {}),
    ...(o.mqttUsername ? { MQTT_USERNAME: o.mqttUsername } : {}),
    ...(o.mqttPassword ? { MQTT_PASSWORD: o.mqttPassword } : {}),
  };
  let ctl: ControllerProcess | undefined;
  try {
    ctl = await startControllerProcess(env, { readyTimeoutMs: 120_000 });
    let databaseUrl = o.databaseUrl;
    if (!databaseUrl) {
      const password = (await fs.readFile(path.join(dir, 'data', 'postgres', 'password'), 'utf8')).trim();
      databaseUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/floatlease`;
    }
    const running = ctl;
    return {
      process: running,
      admin: new AdminApi(running.url, adminToken),
      vendor,
      databaseUrl,
      mqttUrl: running.mqttUrl,
      embeddedBroker: !o.mqttUrl,
      async stop() {
        await running.stop('SIGTERM').catch(() => running.stop('SIGKILL'));
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await ctl?.stop('SIGKILL').catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}
