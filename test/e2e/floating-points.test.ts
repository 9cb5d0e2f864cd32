import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestVendor } from '../helpers/vendor.js';

const ADMIN = `fl_${'f'.repeat(43)}`;
const TTL_SEC = 15;
const SWEEP_MS = 250;
const ALLOCATION = { tags: 100, connections: 10 };

interface Points {
  tags: number;
  connections: number;
}
interface PoolJson {
  held: Points;
  pending: Points;
  limit: Points;
}
interface GatewayJson {
  online: boolean;
  reserved: boolean;
  held: Points;
  pending: Points;
  lease: { seq: number; state: string; expiresAt: string } | null;
}

/**
 * Issue 14, acceptance 3, with a real controller and real agents: 3 gateways allocated 100 tags
 * each in a 200-tag pool. Points float: the third waits until one of the first two stops, then
 * gets its points (clean stop: at once; kill -9: at the lease's exp); a reserved gateway keeps
 * its points held while offline.
 */
describe('points float between real agents (200-tag pool, 100-tag allocations)', () => {
  let db: TestDatabase;
  let ctl: ControllerProcess;
  let dir: string;
  let poolId: string;
  let code: string;
  const agents: AgentProcess[] = [];
  const api = restClient(() => ctl.url, ADMIN);
  const pool = async () => (await api<PoolJson>('GET', `/api/v1/pools/${poolId}`)).body;
  const gateway = async (id: string) => (await api<GatewayJson>('GET', `/api/v1/gateways/${id}`)).body;
  const tagsOf = async (a: AgentProcess) => Number((await a.license()).totalTagCount);

  /** A running agent with a 100-tag allocation; resolves once it holds it or waits for it. */
  const agent = async (outcome: 'granted' | 'pending') => {
    const a = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: ctl.url,
      FLOATLEASE_MQTT_URL: ctl.mqttUrl,
      FLOATLEASE_TRANSPORT: 'mqtt',
      FLOATLEASE_MQTT_KEEPALIVE_SEC: '2',
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_STATE_DIR: path.join(dir, crypto.randomUUID()),
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
    });
    agents.push(a);
    const { gatewayId } = await a.ready();
    await waitFor('online', async () => (await gateway(gatewayId)).online);
    const put = await api<GatewayJson>('PUT', `/api/v1/gateways/${gatewayId}/allocation`, ALLOCATION);
    if (put.status !== 200) throw new Error(`allocation: ${put.status} ${JSON.stringify(put.body)}`);
    if (outcome === 'granted') {
      await waitFor('limits applied', async () => (await tagsOf(a)) === ALLOCATION.tags);
      await waitFor('lease acknowledged', async () => (await gateway(gatewayId)).lease?.state === 'acknowledged');
    } else {
      await waitFor('pending 100', async () => (await gateway(gatewayId)).pending.tags === ALLOCATION.tags);
    }
    return { a, gatewayId };
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-floating-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    ctl = await startControllerProcess({
      DATABASE_URL: db.url,
      ADMIN_TOKEN: ADMIN,
      TRUSTED_ISSUERS: vendor.publicJwkFile,
      SWEEP_INTERVAL_MS: String(SWEEP_MS),
      DATA_DIR: path.join(dir, 'controller'),
      MQTT_EMBEDDED_PORT: String(await freePort()),
    });
    poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'site-f', leaseTtlSeconds: TTL_SEC })).body.id;
    const upload = await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 200, connections: 30 }) });
    expect(upload.status, `${JSON.stringify(upload.body)} ${JSON.stringify(ctl.logs.filter((l) => Number(l.level) >= 50))}`).toBe(200);
    code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 10 })).body.code;
  }, 90_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await ctl?.stop('SIGKILL');
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('SIGTERM frees points for the pending gateway at once; SIGKILL at exp; a reserved gateway keeps them offline', async () => {
    const one = await agent('granted');
    const two = await agent('granted');
    const third = await agent('pending');
    expect(await tagsOf(third.a)).toBeLessThan(ALLOCATION.tags);
    expect((await pool()).held.tags).toBe(200);
    expect((await pool()).pending.tags).toBe(100);

    // 1. A clean stop releases; the freed points are pushed to the pending gateway.
    const termAt = Date.now();
    await one.a.stop('SIGTERM');
    await waitFor('the third agent enforces 100 tags', async () => (await tagsOf(third.a)) === ALLOCATION.tags, { timeoutMs: 20_000, intervalMs: 20 });
    const termMs = Date.now() - termAt;
    console.log(`[floating] SIGTERM → third agent's /api/license shows 100 tags after ${termMs} ms`);
    expect((await pool()).held.tags).toBe(200);

    // 2. kill -9: the killed agent may enforce its lease until exp, so its points wait for it.
    const fourth = await agent('pending');
    await two.a.stop('SIGKILL');
    await waitFor('killed gateway offline', async () => !(await gateway(two.gatewayId)).online, { timeoutMs: 10_000 });
    const exp = Date.parse((await gateway(two.gatewayId)).lease!.expiresAt);
    let grantedAt = 0;
    await waitFor(
      'the fourth agent enforces 100 tags',
      async () => {
        if ((await tagsOf(fourth.a)) !== ALLOCATION.tags) return false;
        grantedAt = Date.now();
        return true;
      },
      { timeoutMs: exp - Date.now() + 20_000, intervalMs: 50 },
    );
    console.log(
      `[floating] SIGKILL → points reached the pending agent ${grantedAt - exp} ms after the killed lease's exp ` +
        `(TTL ${TTL_SEC} s, sweep ${SWEEP_MS} ms)`,
    );
    // Not before exp: the agent's license was read after it changed, so a grant before exp fails here.
    expect(grantedAt).toBeGreaterThanOrEqual(exp);
    expect((await pool()).held.tags).toBe(200);

    // 3. A reserved gateway goes offline: its allocation stays held, nobody else gets it.
    const reserve = await api<GatewayJson>('PUT', `/api/v1/gateways/${third.gatewayId}/allocation`, { ...ALLOCATION, reserved: true });
    expect(reserve.status, JSON.stringify(reserve.body)).toBe(200);
    const fifth = await agent('pending');
    await third.a.stop('SIGTERM'); // a clean stop: its lease is released at once
    await waitFor('reserved gateway offline, lease ended', async () => {
      const g = await gateway(third.gatewayId);
      return !g.online && g.lease?.state === 'released';
    }, { timeoutMs: 10_000 });
    const thirdGone = await gateway(third.gatewayId);
    expect(thirdGone.reserved).toBe(true);
    expect(thirdGone.held.tags).toBe(ALLOCATION.tags);
    // Watch past the released lease's exp plus several sweeps: the points never move.
    const watchUntil = Date.parse(thirdGone.lease!.expiresAt) + 4 * SWEEP_MS;
    // A plain loop, not waitFor: every sample must pass (waitFor would retry a failed one).
    let samples = 0;
    while (Date.now() <= watchUntil) {
      const [p, f] = await Promise.all([pool(), gateway(fifth.gatewayId)]);
      expect(p.held.tags).toBe(200); // the fourth's 100 + the reserved 100
      expect(f.pending.tags).toBe(ALLOCATION.tags);
      expect(await tagsOf(fifth.a)).toBeLessThan(ALLOCATION.tags);
      samples += 1;
      await new Promise((r) => setTimeout(r, SWEEP_MS)); // paces the samples of the watch window: no wait for an event
    }
    console.log(`[floating] reserved gateway offline: pool held 200, fifth pending 100 in all ${samples} samples up to its lease's exp + ${4 * SWEEP_MS} ms`);
    expect(samples).toBeGreaterThan(3);
  }, 150_000);
});
