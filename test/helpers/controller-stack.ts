import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gatewayView, type GatewayView, type PoolView } from '../../shared/protocol/rest.js';
import { spawnAgent, type AgentProcess } from './agent-process.js';
import type { BrokerVariant } from './broker-variants.js';
import type { TestBroker } from './brokers.js';
import { startControllerProcess, type ControllerProcess } from './controller-process.js';
import { freePort } from './ports.js';
import { restClient } from './rest-client.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';
import { createTestVendor, type LicenseOptions, type TestVendor } from './vendor.js';

export interface ControllerStackOptions {
  /** Names the temporary folder: floatlease-<name>-…. */
  readonly name: string;
  readonly admin: string;
  /** More controller environment (SWEEP_INTERVAL_MS, …). */
  readonly env?: Record<string, string>;
  /** Fixed HTTP and MQTT ports and a data folder: agents find a restarted controller again. */
  readonly restartable?: boolean;
  /** An external broker started before the controller, and the environment that points it there. */
  readonly broker?: Pick<BrokerVariant, 'broker' | 'env'>;
  readonly readyTimeoutMs?: number;
}

export interface ControllerStack {
  readonly dir: string;
  readonly vendor: TestVendor;
  readonly db: TestDatabase;
  readonly broker: TestBroker | undefined;
  /** The controller running now (see `start`). */
  readonly ctl: ControllerProcess;
  /** Where agents reach MQTT: the external broker, else the controller's embedded one. */
  readonly mqttUrl: string;
  readonly api: ReturnType<typeof restClient>;
  /** Agents started with `agent`; killed by `close`. */
  readonly agents: AgentProcess[];
  /** Starts the controller again with the same environment (after the test stopped or killed it). */
  start(): Promise<ControllerProcess>;
  /** A pool with a license, and an activation code for it. */
  pool(name: string, license: LicenseOptions, opts?: { settings?: Record<string, unknown>; seats?: number }): Promise<{ poolId: string; code: string }>;
  /** The pool as the REST API shows it. */
  poolView(poolId: string): Promise<PoolView>;
  /** The gateway as the REST API shows it, parsed with the shared schema. */
  gateway(id: string): Promise<GatewayView>;
  /** An agent process on this controller (MQTT, a fresh state folder and hardware id unless `env` says otherwise). */
  agent(env?: Record<string, string>): AgentProcess;
  /** Kills the agents and the controller, drops the database, removes the folder. */
  close(): Promise<void>;
}

/**
 * The end-to-end tests' common start: a folder, a license vendor, a fresh database, an optional
 * external broker and a controller process on loopback, with a REST client for `admin`.
 */
export async function startControllerStack(o: ControllerStackOptions): Promise<ControllerStack> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `floatlease-${o.name}-`));
  const vendor = await createTestVendor(dir);
  const db = await createTestDatabase();
  const broker = o.broker?.broker ? await o.broker.broker() : undefined;
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    ADMIN_TOKEN: o.admin,
    TRUSTED_ISSUERS: vendor.publicJwkFile,
    ...(o.restartable ? { DATA_DIR: path.join(dir, 'controller'), PORT: String(await freePort()), MQTT_EMBEDDED_PORT: String(await freePort()) } : {}),
    ...o.broker?.env(broker),
    ...o.env,
  };
  const opts = o.readyTimeoutMs ? { readyTimeoutMs: o.readyTimeoutMs } : {};
  let ctl = await startControllerProcess(env, opts);
  const api = restClient(() => ctl.url, o.admin);
  const agents: AgentProcess[] = [];
  return {
    dir,
    vendor,
    db,
    broker,
    get ctl() {
      return ctl;
    },
    get mqttUrl() {
      return broker?.url ?? ctl.mqttUrl;
    },
    api,
    agents,
    async start() {
      ctl = await startControllerProcess(env, opts);
      return ctl;
    },
    async pool(name, license, { settings = {}, seats = 10 } = {}) {
      const created = await api<{ id: string }>('POST', '/api/v1/pools', { name, ...settings });
      if (created.status !== 201) throw new Error(`pool ${name}: ${created.status} ${JSON.stringify(created.body)}`);
      const poolId = created.body.id;
      const up = await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license(license) });
      if (up.status !== 200) throw new Error(`license of ${name}: ${up.status} ${JSON.stringify(up.body)} ${JSON.stringify(ctl.logs.filter((l) => Number(l.level) >= 50))}`);
      const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats })).body.code;
      return { poolId, code };
    },
    async poolView(poolId) {
      return (await api<PoolView>('GET', `/api/v1/pools/${poolId}`)).body;
    },
    async gateway(id) {
      return gatewayView.parse((await api('GET', `/api/v1/gateways/${id}`)).body);
    },
    agent(agentEnv = {}) {
      const a = spawnAgent({
        FLOATLEASE_CONTROLLER_URL: ctl.url,
        FLOATLEASE_MQTT_URL: broker?.url ?? ctl.mqttUrl,
        FLOATLEASE_TRANSPORT: 'mqtt',
        FLOATLEASE_STATE_DIR: path.join(dir, crypto.randomUUID()),
        FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
        ...agentEnv,
      });
      agents.push(a);
      return a;
    },
    async close() {
      await Promise.all(agents.map((a) => a.stop('SIGKILL')));
      await ctl.stop('SIGKILL');
      await broker?.dispose();
      await db.drop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
