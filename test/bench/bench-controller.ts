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
  /** More than 1: that many replicas on the external database and broker (REPLICAS, shared keys). */
  readonly replicas?: number;
  /** Extra NODE_OPTIONS for the controller process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
  readonly nodeOptions?: string | undefined;
}

export interface BenchController {
  /** Replica 1: the agents' controller. */
  readonly process: ControllerProcess;
  /** Every replica (one unless `replicas` was given). */
  readonly replicas: readonly ControllerProcess[];
  /** Through the last replica, so with several every change reaches the agents across replicas. */
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
  const count = o.replicas ?? 1;
  if (count > 1) Object.assign(env, { REPLICAS: String(count), SIGNING_KEY_KEK: crypto.randomBytes(32).toString('base64') });
  let ctl: ControllerProcess | undefined;
  const others: ControllerProcess[] = [];
  try {
    ctl = await startControllerProcess(count > 1 ? { ...env, REPLICA_ID: 'bench-r1', DATA_DIR: path.join(dir, 'data-r1') } : env, { readyTimeoutMs: 120_000 });
    // One after the other: the first runs the migrations.
    for (let k = 2; k <= count; k++) {
      others.push(await startControllerProcess({ ...env, REPLICA_ID: `bench-r${k}`, DATA_DIR: path.join(dir, `data-r${k}`) }, { readyTimeoutMs: 120_000 }));
    }
    let databaseUrl = o.databaseUrl;
    if (!databaseUrl) {
      const password = (await fs.readFile(path.join(dir, 'data', 'postgres', 'password'), 'utf8')).trim();
      databaseUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/floatlease`;
    }
    const running = ctl;
    const all = [running, ...others];
    return {
      process: running,
      replicas: all,
      admin: new AdminApi(all[all.length - 1]!.url, adminToken),
      vendor,
      databaseUrl,
      mqttUrl: running.mqttUrl,
      embeddedBroker: !o.mqttUrl,
      async stop() {
        for (const r of all.reverse()) await r.stop('SIGTERM').catch(() => r.stop('SIGKILL'));
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const r of [ctl, ...others]) await r?.stop('SIGKILL').catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}
