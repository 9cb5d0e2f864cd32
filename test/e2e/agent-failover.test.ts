import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startAedes, type TestBroker } from '../helpers/brokers.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestVendor } from '../helpers/vendor.js';

const ADMIN = `fl_${'f'.repeat(43)}`;

/** A controller on an external broker that the test can stop, and an agent configured with both transports. */
describe('agent failover between MQTT and WebSocket', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let ctl: ControllerProcess;
  let agent: AgentProcess;
  let dir: string;
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const res = await fetch(ctl.url + p, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-failover-e2e-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    broker = await startAedes();
    ctl = await startControllerProcess({
      DATABASE_URL: db.url,
      ADMIN_TOKEN: ADMIN,
      TRUSTED_ISSUERS: vendor.publicJwkFile,
      MQTT_URL: broker.url,
      MQTT_SHARED_SUBSCRIPTIONS: 'false',
    });
    // The shortest lease TTL (15 s): a renewal every 5 s.
    const pool = await api<{ id: string }>('POST', '/api/v1/pools', { name: 'failover', leaseTtlSeconds: 15 });
    await api('PUT', `/api/v1/pools/${pool.id}/license`, { license: await vendor.license({ tags: 500, connections: 20 }) });
    const { code } = await api<{ code: string }>('POST', `/api/v1/pools/${pool.id}/activation-codes`, { seats: 1 });
    agent = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: ctl.url,
      FLOATLEASE_MQTT_URL: broker.url,
      FLOATLEASE_TRANSPORT: 'mqtt,ws',
      FLOATLEASE_FAILOVER_AFTER_SEC: '1',
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_STATE_DIR: path.join(dir, 'state'),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
    });
  }, 90_000);
  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await ctl?.stop('SIGKILL');
    await broker?.dispose();
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('renews over WebSocket while the broker is down, and returns to MQTT when it is back', async () => {
    const { gatewayId } = await agent.ready();
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 200, connections: 4 });
    await waitFor('limits over mqtt', async () => {
      const l = await agent.license();
      return l.totalTagCount === 200 && l.transport === 'mqtt';
    });

    const seqBefore = Number((await agent.license()).seq);
    const down = Date.now();
    await broker.stop();
    // hello on the new transport brings one lease; the scheduled renewal (a third of 15 s) the next.
    const seqOnWs = await waitFor('on ws with a lease', async () => {
      const l = await agent.license();
      return l.transport === 'ws' && Number(l.seq) > seqBefore ? Number(l.seq) : undefined;
    }, { timeoutMs: 10_000 });
    const switchedIn = Date.now() - down;
    await waitFor('a scheduled renewal over ws', async () => Number((await agent.license()).seq) > seqOnWs, { timeoutMs: 10_000, intervalMs: 100 });
    const lic = await agent.license();
    expect(lic).toMatchObject({ mode: 'FLOATING', totalTagCount: 200, maxConnections: 4, transport: 'ws', controllerReachable: true });
    expect(await api('GET', `/api/v1/gateways/${gatewayId}`)).toMatchObject({ online: true, transport: 'ws' });
    console.info(`broker down: agent on WebSocket after ${switchedIn} ms, renewed over it ${Date.now() - down} ms after the outage began`);

    const up = Date.now();
    await broker.restart();
    await waitFor('back on mqtt with a fresh lease', async () => {
      const l = await agent.license();
      return l.transport === 'mqtt' && Number(l.seq) > Number(lic.seq);
    }, { timeoutMs: 45_000, intervalMs: 100 });
    console.info(`broker back: agent on MQTT again after ${Date.now() - up} ms`);
    expect(await agent.license()).toMatchObject({ mode: 'FLOATING', totalTagCount: 200 });
    await waitFor('controller sees mqtt', async () => {
      const g = await api<{ online: boolean; transport: string }>('GET', `/api/v1/gateways/${gatewayId}`);
      return g.online && g.transport === 'mqtt';
    }, { timeoutMs: 10_000 });
    // Limits never dropped to the trial allowance during the switch.
    expect(agent.logs.filter((l) => l.msg === 'refused a lease')).toEqual([]);
  }, 90_000);
});
