import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { io as ioc, type Socket } from 'socket.io-client';
import { CONSOLE_NAMESPACE, type ConsoleChanges } from '../../../shared/protocol/console-events.js';
import { spawnAgent, type AgentProcess } from '../../helpers/agent-process.js';
import { startMosquitto, type TestBroker } from '../../helpers/brokers.js';
import { startControllerProcess, type ControllerProcess } from '../../helpers/controller-process.js';
import { waitFor } from '../../helpers/ports.js';
import { restClient } from '../../helpers/rest-client.js';
import { startTcpBalancer, type TcpBalancer } from '../../helpers/tcp-balancer.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { createTestVendor, type TestVendor } from '../../helpers/vendor.js';

const ADMIN = `fl_${'r'.repeat(43)}`;
export const HEARTBEAT_MS = 1_000;
export const TIMEOUT_MS = 4_000;
export const KEY_REFRESH_MS = 1_000;
export const REPLICA_IDS = ['r1', 'r2'] as const;

export interface Placed {
  readonly name: string;
  readonly agent: AgentProcess;
  readonly gatewayId: string;
  /** The replica changes go through: never the one the agent talks to (for load-balanced agents, the one it was placed on). */
  readonly via: 0 | 1;
}

/**
 * Two controller replicas (r1, r2) on one test PostgreSQL and one Mosquitto with dynamic security,
 * a connection-level load balancer in front of both, and a console on each replica recording the
 * gateway ids of every change batch it receives.
 */
export class ReplicaCluster {
  db!: TestDatabase;
  broker!: TestBroker;
  balancer!: TcpBalancer;
  vendor!: TestVendor;
  readonly replicas: ControllerProcess[] = [];
  readonly agents: AgentProcess[] = [];
  readonly consoles: Socket[] = [];
  readonly seen: [Set<string>, Set<string>] = [new Set(), new Set()];
  /** Successful administrative changes per "action gatewayId", for the duplicate-audit check. */
  readonly changes = new Map<string, number>();
  private dir = '';
  private readonly kek = crypto.randomBytes(32).toString('base64');

  api = (i: 0 | 1) => restClient(() => this.replicas[i]!.url, ADMIN);

  async start(): Promise<void> {
    this.dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-replicas-'));
    this.vendor = await createTestVendor(this.dir);
    this.db = await createTestDatabase();
    this.broker = await startMosquitto({ dynsec: { username: 'ctl', password: 'ctl-secret' } });
    // One after the other: the first creates the dynsec role both use.
    for (const id of REPLICA_IDS) this.replicas.push(await this.startReplica(id));
    this.balancer = await startTcpBalancer(this.replicas.map((r) => ({ host: '127.0.0.1', port: Number(new URL(r.url).port) })));
  }

  private startReplica(id: string): Promise<ControllerProcess> {
    return startControllerProcess(
      {
        DATABASE_URL: this.db.url,
        ADMIN_TOKEN: ADMIN,
        MQTT_URL: this.broker.url,
        MQTT_USERNAME: 'ctl',
        MQTT_PASSWORD: 'ctl-secret',
        MQTT_DYNSEC: 'true',
        REPLICAS: '2',
        REPLICA_ID: id,
        REPLICA_HEARTBEAT_MS: String(HEARTBEAT_MS),
        REPLICA_TIMEOUT_MS: String(TIMEOUT_MS),
        TRUSTED_ISSUERS: this.vendor.publicJwkFile,
        SIGNING_KEY_DIR: path.join(this.dir, `keys-${id}`),
        SIGNING_KEY_KEK: this.kek,
        SIGNING_KEY_REFRESH_MS: String(KEY_REFRESH_MS),
      },
      { readyTimeoutMs: 90_000 },
    );
  }

  /** An agent enrolled with `code` and ready; `url` is the controller URL it is given. */
  async spawn(name: string, o: { transport: 'ws' | 'mqtt'; url: string; code: string; logsOf: ControllerProcess }): Promise<{ agent: AgentProcess; gatewayId: string }> {
    const agent = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: o.url,
      FLOATLEASE_MQTT_URL: this.broker.url,
      FLOATLEASE_TRANSPORT: o.transport,
      FLOATLEASE_ACTIVATION_CODE: o.code,
      FLOATLEASE_STATE_DIR: path.join(this.dir, `agent-${name}`),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
    });
    this.agents.push(agent);
    const { gatewayId } = await agent.ready(180_000).catch((err: unknown) => {
      const tail = (logs: Record<string, unknown>[]) => logs.slice(-8).map((l) => JSON.stringify(l)).join(' | ');
      throw new Error(`${name}: ${String(err)}; agent logs: ${tail(agent.logs)}; replica logs: ${tail(o.logsOf.logs)}`);
    });
    return { agent, gatewayId };
  }

  async connectConsoles(): Promise<void> {
    for (const i of [0, 1] as const) {
      const socket = ioc(this.replicas[i]!.url + CONSOLE_NAMESPACE, { transports: ['websocket'], auth: { token: ADMIN }, reconnection: false });
      socket.on('changes', (batch: ConsoleChanges) => {
        for (const g of batch.gateways ?? []) this.seen[i].add(g);
      });
      this.consoles.push(socket);
      await waitFor(`console ${i} connected`, () => socket.connected);
    }
  }

  /** An allocation change through replica `via`, counted for the audit check when it succeeds. */
  async setAllocation(via: 0 | 1, gatewayId: string, tags: number, connections: number): Promise<number> {
    const res = await this.api(via)('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags, connections });
    if (res.status === 200) this.count('allocation.changed', gatewayId);
    return res.status;
  }

  count(action: string, gatewayId = ''): void {
    const k = `${action} ${gatewayId}`;
    this.changes.set(k, (this.changes.get(k) ?? 0) + 1);
  }

  /** The replica holding a Socket.IO agent's socket, from the membership table. */
  async socketReplicas(gatewayId: string): Promise<string[]> {
    const rows = await this.db.database.sql<{ replica_id: string }[]>`select replica_id from agent_sockets where gateway_id = ${gatewayId} order by replica_id`;
    return rows.map((r) => r.replica_id);
  }

  alive(i: 0 | 1): boolean {
    const r = this.replicas[i]!;
    return r.child.exitCode === null && r.child.signalCode === null;
  }

  async stop(): Promise<void> {
    for (const c of this.consoles) c.close();
    await Promise.all(this.agents.map((a) => a.stop('SIGKILL')));
    await Promise.all(this.replicas.map((r) => r.stop('SIGKILL')));
    await this.balancer?.close();
    await this.broker?.dispose();
    await this.db?.drop();
    if (this.dir) await fs.rm(this.dir, { recursive: true, force: true });
  }
}
