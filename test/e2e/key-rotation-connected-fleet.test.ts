import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { decodeProtectedHeader } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../agent/agent.js';
import { loadAgentConfig } from '../../agent/config.js';
import { deriveHardwareId } from '../../agent/hardware/hardware-id.js';
import { systemMachineFacts } from '../../agent/hardware/machine-facts.js';
import { createAgentRuntime, readBootId } from '../../agent/runtime.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestVendor } from '../helpers/vendor.js';

const AGENTS = 200;
const TTL = 15;
const ADMIN = `fl_${'r'.repeat(43)}`;

interface FleetAgent {
  readonly agent: Agent;
  readonly stateDir: string;
  readonly transport: 'mqtt' | 'ws';
  gatewayId?: string;
}

/**
 * Issue 16 acceptance: a key rotation on the controller with 200 connected agents. The controller is
 * the real process (embedded broker); the agents are 200 real agent runtimes (createAgentRuntime, as
 * `npm run agent` builds them: state folder, controller HTTP API, MQTT or Socket.IO link, lease
 * pipeline and verifier) in this process, half on MQTT, half on Socket.IO. The key is rotated
 * through the controller's API; every agent must end on the new kid with no lease refused and no
 * re-enrollment.
 */
describe('key rotation with 200 connected agents (issue 16)', () => {
  let db: TestDatabase;
  let ctl: ControllerProcess;
  let dir: string;
  const fleet: FleetAgent[] = [];
  const logs: Record<string, unknown>[] = [];
  const api = restClient(() => ctl.url, ADMIN);

  // Every agent logs into one collector, each line tagged with the agent's index.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const root = pino({ level: 'info' }, sink);
  const linesOf = (msg: string) => logs.filter((l) => l.msg === msg);

  /** The kid of the lease the agent persisted last (its state folder, as a restart would read it). */
  const storedKid = async (a: FleetAgent): Promise<string | undefined> => {
    try {
      const doc = JSON.parse(await fs.readFile(path.join(a.stateDir, 'lease.json'), 'utf8')) as { lease?: { jws?: string } };
      return doc.lease?.jws ? String(decodeProtectedHeader(doc.lease.jws).kid) : undefined;
    } catch {
      return undefined;
    }
  };

  const settled = (a: FleetAgent) => a.agent.status().seq !== undefined && a.agent.status().transport === a.transport;
  /** Every agent of `agents` holds a lease over its own transport; fails fast when an agent logs an error. */
  const waitForSettled = async (agents: readonly FleetAgent[], what: string) => {
    const noErrors = () => {
      const errors = logs.filter((l) => Number(l.level) >= 50);
      if (errors.length) throw new Error(`agents logged errors: ${JSON.stringify(errors.slice(0, 3))}`);
    };
    await waitFor(what, () => (noErrors(), agents.every(settled)), { timeoutMs: 120_000, intervalMs: 250 }).catch((err: unknown) => {
      const stuck = agents.filter((a) => !settled(a)).map((a) => ({ seq: a.agent.status().seq, transport: a.agent.status().transport, want: a.transport }));
      const warnings = logs.filter((l) => Number(l.level) >= 40).slice(0, 5);
      throw new Error(`${String(err)}; ${stuck.length} not settled, e.g. ${JSON.stringify(stuck.slice(0, 3))}; first warnings ${JSON.stringify(warnings)}`);
    });
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-rotation-fleet-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    ctl = await startControllerProcess(
      {
        DATABASE_URL: db.url,
        ADMIN_TOKEN: ADMIN,
        TRUSTED_ISSUERS: vendor.publicJwkFile,
        DATA_DIR: path.join(dir, 'controller'),
        PORT: String(await freePort()),
        MQTT_EMBEDDED_PORT: String(await freePort()),
        // The whole fleet comes from 127.0.0.1: a slow answer under load must not lock it out.
        ENROLL_FAILURES_PER_MINUTE: '100000',
        AUTH_FAILURES_PER_MINUTE: '100000',
      },
      { readyTimeoutMs: 120_000 },
    );
    const poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'rotation-fleet', leaseTtlSeconds: TTL })).body.id;
    expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 100_000, connections: 1_000 }) })).status).toBe(200);
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: AGENTS })).body.code;
    const bootId = await readBootId();
    for (let i = 0; i < AGENTS; i++) {
      const transport = i % 2 === 0 ? 'mqtt' : 'ws';
      const stateDir = path.join(dir, `agent-${i}`);
      const config = loadAgentConfig([], {
        FLOATLEASE_CONTROLLER_URL: ctl.url,
        FLOATLEASE_MQTT_URL: ctl.mqttUrl,
        FLOATLEASE_TRANSPORT: transport,
        FLOATLEASE_ACTIVATION_CODE: code,
        FLOATLEASE_STATE_DIR: stateDir,
        FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
        FLOATLEASE_GATEWAY_NAME: `rotation-${i}`,
        FLOATLEASE_MQTT_KEEPALIVE_SEC: '10',
        LOG_LEVEL: 'info',
      });
      const hardwareId = await deriveHardwareId({ override: config.hardwareIdOverride, facts: systemMachineFacts() });
      const agent = createAgentRuntime({ config, hardwareId, logger: root.child({ agent: i, transport }), ...(bootId ? { bootId } : {}) });
      fleet.push({ agent, stateDir, transport });
    }
    // Brought up 20 at a time, each batch enrolled and holding a lease before the next (a fleet
    // rolling out; all at once, enrollments time out on a loaded 2-core machine).
    for (let i = 0; i < AGENTS; i += 20) {
      const batch = fleet.slice(i, i + 20);
      await Promise.all(batch.map((a) => a.agent.start()));
      await waitForSettled(batch, `agents ${i}..${i + batch.length - 1} to hold a lease`);
    }
  }, 900_000);

  afterAll(async () => {
    await Promise.all(fleet.map((a) => a.agent.stop().catch(() => undefined)));
    await ctl?.stop();
    await db?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('every agent moves to the new key: no lease refused, no re-enrollment', async () => {
    // Every agent enrolled once, is connected, and holds a lease signed with the current key.
    await waitForSettled(fleet, 'every agent to hold a lease over its transport');
    // The lease is persisted right after it is accepted: wait for every lease.json too.
    let before: (string | undefined)[] = [];
    await waitFor('every lease persisted', async () => (before = await Promise.all(fleet.map(storedKid))).every((k) => k !== undefined), { timeoutMs: 30_000, intervalMs: 250 });
    const oldKid = before[0]!;
    expect(new Set(before)).toEqual(new Set([oldKid]));
    for (const a of fleet) a.gatewayId = a.agent.status().gatewayId;
    const seqBefore = fleet.map((a) => a.agent.status().seq!);
    expect(linesOf('enrolled')).toHaveLength(AGENTS);

    const rotated = await api<{ kid: string; signing: boolean }[]>('POST', '/api/v1/signing-keys/rotate');
    expect(rotated.status).toBe(200);
    const newKid = rotated.body.find((k) => k.signing)!.kid;
    expect(newKid).not.toBe(oldKid);
    const rotatedAt = performance.now();

    // No push is needed: each agent meets the new key at its next renewal (a third of the 15 s lifetime).
    let kids: (string | undefined)[] = [];
    await waitFor(
      'every agent on the new key',
      async () => {
        kids = await Promise.all(fleet.map(storedKid));
        return kids.every((k) => k === newKid);
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; still on other keys: ${kids.filter((k) => k !== newKid).length}`);
    });
    const switchMs = Math.round(performance.now() - rotatedAt);

    const refused = linesOf('refused a lease');
    expect(refused, JSON.stringify(refused.slice(0, 3))).toEqual([]);
    expect(linesOf('refused a key set no pinned key vouches for; keeping the pinned keys')).toEqual([]);
    // No re-enrollment: still one enrollment per agent, same gateway ids, no orphaned keys.
    expect(linesOf('enrolled')).toHaveLength(AGENTS);
    expect(logs.filter((l) => typeof l.msg === 'string' && /enrolling again|re-enroll/i.test(l.msg))).toEqual([]);
    for (const [i, a] of fleet.entries()) {
      const s = a.agent.status();
      expect(s.gatewayId, `agent ${i} kept its gateway`).toBe(a.gatewayId);
      expect(s.seq!, `agent ${i} renewed`).toBeGreaterThan(seqBefore[i]!);
      const trust = JSON.parse(await fs.readFile(path.join(a.stateDir, 'trust.json'), 'utf8')) as { trust: { jwks: { keys: { kid?: string }[] } } };
      expect(trust.trust.jwks.keys.map((k) => k.kid), `agent ${i} pinned the new key`).toContain(newKid);
    }
    // The controller still knows exactly these 200 gateways, every one holding a lease.
    const page = await api<{ items: { id: string }[]; total?: number }>('GET', '/api/v1/gateways?limit=500');
    expect(new Set(page.body.items.map((g) => g.id))).toEqual(new Set(fleet.map((a) => a.gatewayId)));
    // Each agent adopted the new key once, from the key set its first lease of the new key carried (no fetch).
    const adoptions = linesOf('adopted the signing keys a pinned key vouched for');
    const adopted = adoptions.length;
    expect(adoptions.filter((l) => l.from === 'controller')).toEqual([]);
    expect(new Set(adoptions.map((l) => l.agent)).size).toBe(AGENTS);
    console.info(`key rotation, ${AGENTS} connected agents (${AGENTS / 2} MQTT, ${AGENTS / 2} Socket.IO): all on the new key ${switchMs} ms after the rotation, key-set adoptions ${adopted} (from the lease: ${adopted}, fetched: 0), refused leases ${refused.length}, enrollments ${linesOf('enrolled').length}`);
  }, 240_000);
});
