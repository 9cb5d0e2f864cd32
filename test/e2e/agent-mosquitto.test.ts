import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { mosquittoInstalled, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestVendor } from '../helpers/vendor.js';
import { restClient } from '../helpers/rest-client.js';

const ADMIN = `fl_${'q'.repeat(43)}`;

// Skipped only where Mosquitto is not installed; .ci/run installs it, so CI always runs this.
describe.skipIf(!mosquittoInstalled())('real agents through an external Mosquitto (dynamic security)', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let ctl: ControllerProcess;
  let dir: string;
  let poolId: string;
  let code: string;
  const agents: AgentProcess[] = [];
  const api = restClient(() => ctl.url, ADMIN);
  const held = async () => (await api<{ held: { tags: number } }>('GET', `/api/v1/pools/${poolId}`)).body.held.tags;
  const online = async (id: string) => (await api<{ online: boolean }>('GET', `/api/v1/gateways/${id}`)).body.online;
  const agent = () => {
    const a = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: ctl.url,
      FLOATLEASE_MQTT_URL: broker.url,
      FLOATLEASE_TRANSPORT: 'mqtt',
      FLOATLEASE_MQTT_KEEPALIVE_SEC: '2',
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_STATE_DIR: path.join(dir, crypto.randomUUID()),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
    });
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-agent-mosq-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    broker = await startMosquitto({ dynsec: { username: 'ctl', password: 'ctl-secret' } });
    ctl = await startControllerProcess({
      DATABASE_URL: db.url,
      ADMIN_TOKEN: ADMIN,
      TRUSTED_ISSUERS: vendor.publicJwkFile,
      MQTT_URL: broker.url,
      MQTT_USERNAME: 'ctl',
      MQTT_PASSWORD: 'ctl-secret',
      MQTT_DYNSEC: 'true',
    });
    poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'site-m' })).body.id;
    expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 500, connections: 50 }) })).status).toBe(200);
    code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 10 })).body.code;
  }, 90_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await ctl?.stop('SIGKILL');
    await broker?.dispose();
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  // How fast each step is belongs to the bench (test/bench/phases/alloc-latency.ts, release.ts, silent-loss.ts).
  it('applies an allocation, and returns the points by the release at SIGTERM', async () => {
    const a = agent();
    const { gatewayId } = await a.ready();
    expect((await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 70, connections: 7 })).status).toBe(200);
    await waitFor('limits applied', async () => (await a.license()).totalTagCount === 70, { intervalMs: 20 });
    await waitFor('acknowledged', async () => (await api<{ lease: { state: string } }>('GET', `/api/v1/gateways/${gatewayId}`)).body.lease.state === 'acknowledged');
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 0, connections: 0 });
    await waitFor('ack of the 0 lease', async () => (await held()) === 0);
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 70, connections: 7 });
    await waitFor('re-applied', async () => (await a.license()).totalTagCount === 70);
    const before = await held();
    expect(before).toBe(70);
    a.child.kill('SIGSTOP'); // frozen, the agent cannot acknowledge the smaller lease
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 0, connections: 0, force: true });
    // The smaller lease is issued; unacknowledged, it frees nothing.
    await waitFor('the 0 lease issued', async () => {
      const l = (await api<{ lease: { state: string; points: { tags: number } } }>('GET', `/api/v1/gateways/${gatewayId}`)).body.lease;
      return l.state === 'issued' && l.points.tags === 0;
    });
    expect(await held()).toBe(70);
    a.child.kill('SIGCONT');
    expect(await a.stop('SIGTERM')).toBe(0);
    await waitFor('points back', async () => (await held()) === 0, { intervalMs: 20 });
    const audit = await api<{ items: { action: string }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&limit=20`);
    expect(audit.body.items.map((e) => e.action)).toEqual(expect.arrayContaining(['lease.released']));
  });

  it('marks a SIGKILLed agent offline by its will (via Mosquitto)', async () => {
    const a = agent();
    const { gatewayId } = await a.ready();
    await waitFor('online', () => online(gatewayId));
    await a.stop('SIGKILL');
    await waitFor('offline', async () => !(await online(gatewayId)), { timeoutMs: 20_000, intervalMs: 50 });
  });
});
