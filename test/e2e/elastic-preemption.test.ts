import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestVendor } from '../helpers/vendor.js';
import { startNeuronSimulator, type NeuronSimulator } from '../neuronex-sim/index.js';
import { AgentSideWatch, enforcedLease, type Victim } from './elastic-preemption-watch.js';

const ADMIN = `fl_${'d'.repeat(43)}`;
const TTL_SEC = 15;
const LIMIT = 200; // the pool's tags
const MAX = 100; // the low-priority gateway's elastic max
const COOLDOWN_SEC = 2;
const PENDING_TIMEOUT_SEC = 600;

interface Points {
  tags: number;
  connections: number;
}
interface GatewayJson {
  online: boolean;
  allocation: Points;
  held: Points;
  pending: Points;
  usage: (Points & { reportedAt: string }) | null;
  allocationOutcome?: { granted: Points; pending: Points };
}
interface PendingJson {
  pending: Points;
  since: string | null;
  timesOutAt: string | null;
  waitsFor: { gatewayId: string; name: string; owes: Points; until: string | null; online: boolean }[];
}
interface AuditJson {
  items: { id: number; at: string; actor: string; action: string; before: unknown; after: Record<string, unknown> }[];
}

interface Gw {
  name: string;
  agent: AgentProcess;
  sim: NeuronSimulator;
  stateDir: string;
  gatewayId: string;
  proxyUrl: string;
  token: string;
}

const tag = (name: string) => ({ name, address: '1!400001', attribute: 1, type: 3 });
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/**
 * Issue 21, acceptance 2 (elastic and pre-emption), with a real controller, real agents and
 * simulated NeuronEX gateways: a 200-tag pool, gw-low (priority 0, elastic tags {20, 100}) and
 * gw-high (priority 5, fixed). Usage added through the agent's NeuronEX proxy grows gw-low up to
 * its max; gw-high's raises take gw-low's unused headroom, once through an acknowledgement and
 * once, with gw-low's agent killed, at its lease's expiry. Throughout, a watcher checks that what
 * the agents enforce never sums above the pool (elastic-preemption-watch.ts).
 */
describe('elastic allocations and pre-emption by priority, end to end', () => {
  let dir: string;
  let db: TestDatabase;
  let ctl: ControllerProcess;
  let poolId: string;
  let low: Gw;
  let high: Gw;
  const sims: NeuronSimulator[] = [];
  const agents: AgentProcess[] = [];
  const victim: Victim = { state: 'running', frozen: null };
  let watch: AgentSideWatch;

  const api = restClient(() => ctl.url, ADMIN);
  const gateway = async (id: string) => (await api<GatewayJson>('GET', `/api/v1/gateways/${id}`)).body;
  const pendingOf = async (id: string) => (await api<PendingJson>('GET', `/api/v1/gateways/${id}/pending`)).body;
  const audit = async (gatewayId: string, action?: string) =>
    (await api<AuditJson>('GET', `/api/v1/audit?gatewayId=${gatewayId}&limit=500${action ? `&action=${action}` : ''}`)).body.items.reverse(); // oldest first
  const license = async (g: Gw) => (await g.agent.license()) as { totalTagCount: number; maxConnections: number; seq: number };
  const enforces = (g: Gw, tags: number) => waitFor(`${g.name} enforces ${tags} tags`, async () => (await license(g)).totalTagCount === tags, { timeoutMs: 15_000 });
  const usageIs = (g: Gw, tags: number) => waitFor(`${g.name}'s usage ${tags} on the controller`, async () => (await gateway(g.gatewayId)).usage?.tags === tags, { timeoutMs: 15_000 });
  const allocate = async (g: Gw, body: Record<string, unknown>) => {
    const r = await api<GatewayJson>('PUT', `/api/v1/gateways/${g.gatewayId}/allocation`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body;
  };
  /** A call to the gateway's Neuron API through the agent's gatekeeping proxy. */
  const neuron = async (g: Gw, method: string, p: string, body?: unknown) => {
    const res = await fetch(`${g.proxyUrl}/api/v2${p}`, {
      method,
      headers: { authorization: `Bearer ${g.token}`, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const addTags = (g: Gw, prefix: string, n: number) => neuron(g, 'POST', '/tags', { node: 'plc1', group: 'g1', tags: names(prefix, n).map(tag) });
  /** NeuronEX's refusal of a tag batch past the license: HTTP 400 with error 2405, and nothing added. */
  const expectRefused = async (g: Gw, n: number) => {
    const before = g.sim.state.tagCount();
    expect(await addTags(g, `over${crypto.randomUUID().slice(0, 4)}-`, n)).toMatchObject({ status: 400, body: { error: 2405 } });
    expect(g.sim.state.tagCount()).toBe(before);
  };
  const expectAdded = async (g: Gw, prefix: string, n: number) => {
    const before = g.sim.state.tagCount();
    expect((await addTags(g, prefix, n)).body).toMatchObject({ error: 0 });
    expect(g.sim.state.tagCount()).toBe(before + n);
  };

  const start = async (name: string, code: string): Promise<Gw> => {
    const sim = await startNeuronSimulator({ maxTags: 100_000, maxNodes: 1_000 });
    sims.push(sim);
    const stateDir = path.join(dir, `state-${name}`);
    const agent = spawnAgent({
      FLOATLEASE_CONTROLLER_URL: ctl.url,
      FLOATLEASE_MQTT_URL: ctl.mqttUrl,
      FLOATLEASE_TRANSPORT: 'mqtt',
      FLOATLEASE_ACTIVATION_CODE: code,
      FLOATLEASE_STATE_DIR: stateDir,
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
      FLOATLEASE_GATEWAY_NAME: name,
      FLOATLEASE_GATEWAY_URL: sim.coreUrl,
      FLOATLEASE_USAGE_INTERVAL_SEC: '1',
      FLOATLEASE_PROXY_PORT: '0',
    });
    agents.push(agent);
    const { gatewayId } = await agent.ready(60_000);
    const proxyUrl = String(agent.logs.find((l) => l.msg === 'agent ready')?.proxyUrl);
    const g = { name, agent, sim, stateDir, gatewayId, proxyUrl, token: await sim.coreToken() };
    await waitFor(`${name} online`, async () => (await gateway(gatewayId)).online, { timeoutMs: 15_000 });
    return g;
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-elastic-e2e-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    ctl = await startControllerProcess(
      { DATABASE_URL: db.url, ADMIN_TOKEN: ADMIN, TRUSTED_ISSUERS: vendor.publicJwkFile, SWEEP_INTERVAL_MS: '250', ELASTIC_INTERVAL_MS: '200' },
      { readyTimeoutMs: 90_000 },
    );
    poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'elastic-e2e', leaseTtlSeconds: TTL_SEC })).body.id;
    expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: LIMIT, connections: 20 }) })).status).toBe(200);
    const policy = await api('PUT', `/api/v1/pools/${poolId}/policy`, { headroom: 1, step: 1, cooldownSec: COOLDOWN_SEC, pendingTimeoutSec: PENDING_TIMEOUT_SEC });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 2 })).body.code;
    [low, high] = await Promise.all([start('gw-low', code), start('gw-high', code)]);
    await allocate(low, { tags: 40, connections: 5 });
    await allocate(high, { tags: 60, connections: 5, priority: 5 });
    await Promise.all([enforces(low, 40), enforces(high, 60)]);
    // One south node (a connection) with one group, to add tags to.
    for (const g of [low, high]) {
      expect((await neuron(g, 'POST', '/node', { name: 'plc1', plugin: 'Modbus TCP' })).body).toEqual({ error: 0 });
      expect((await neuron(g, 'POST', '/group', { name: 'g1', node: 'plc1', interval: 1000 })).body).toEqual({ error: 0 });
    }
    watch = new AgentSideWatch({
      limit: LIMIT,
      max: MAX,
      poolHeld: async () => (await api<{ held: Points }>('GET', `/api/v1/pools/${poolId}`)).body.held.tags,
      lowAllocation: async () => (await gateway(low.gatewayId)).allocation.tags,
      // The gainer is read before the victim: a victim's cut always precedes the gainer's grant.
      gainerTags: async () => (await license(high)).totalTagCount,
      victimTags: async () => (await license(low)).totalTagCount,
      victim,
    });
    watch.start();
  }, 150_000);

  afterAll(async () => {
    await watch?.stop();
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await ctl?.stop('SIGKILL');
    await Promise.all(sims.map((s) => s.close()));
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('usage rising through the simulator grows the elastic allocation up to its max; the agent enforces each new limit with NeuronEX errors', async () => {
    // Fixed at 40 first: the 41st tag is refused.
    await expectAdded(low, 'a', 40);
    await expectRefused(low, 1);
    await usageIs(low, 40);
    expect((await api('PUT', `/api/v1/gateways/${low.gatewayId}/elastic`, { tags: { min: 20, max: MAX } })).status).toBe(200);

    // 40 in use, headroom 100%: the target is 80, and the pool has 100 free.
    await enforces(low, 80);
    expect((await gateway(low.gatewayId)).allocation.tags).toBe(80);
    await expectRefused(low, 41);
    await expectAdded(low, 'b', 20);

    // 60 in use: the target would be 120, the max caps it at 100 though 60 points are free.
    await enforces(low, 100);
    const resizes = await audit(low.gatewayId, 'allocation.elastic');
    expect(resizes.map((r) => r.actor)).toEqual(['system:elastic', 'system:elastic']);
    expect(String(resizes[0]!.after.reason)).toMatch(/^tags grow 40→80: 40 in use, target 80 \(headroom 100%, max 100, \d+ free\)$/);
    const second = /^tags grow 80→100: 60 in use, target 100 \(headroom 100%, max 100, (\d+) free\)$/.exec(String(resizes[1]!.after.reason));
    expect(second, String(resizes[1]!.after.reason)).not.toBeNull();
    expect(Number(second![1])).toBeGreaterThanOrEqual(40); // room for 120: only the max stopped it

    // The agent enforces 100: 41 more are refused, 40 fit, then not one more.
    await expectRefused(low, 41);
    await expectAdded(low, 'c', 40);
    await expectRefused(low, 1);
    await usageIs(low, 100);
    // Back to 60 in use: 40 of the 100 held are unused headroom for what follows.
    expect((await neuron(low, 'DELETE', '/tags', { node: 'plc1', group: 'g1', tags: names('c', 40) })).body).toEqual({ error: 0 });
    await usageIs(low, 60);
    expect((await gateway(low.gatewayId)).allocation.tags).toBe(MAX);
  }, 90_000);

  it("a high-priority raise that does not fit waits; the low-priority gateway's headroom is taken; it completes after the victim's acknowledgement", async () => {
    // Frozen, gw-low's agent cannot acknowledge: the cut cannot return points until it resumes.
    await watch.exclusive(async () => {
      low.agent.child.kill('SIGSTOP');
      victim.state = 'stopped';
      victim.frozen = await enforcedLease(low.stateDir);
    });
    expect(victim.frozen!.tags).toBe(100);
    const raise = await allocate(high, { tags: 140, connections: 5, priority: 5 });
    expect(raise.allocationOutcome).toEqual({ granted: { tags: 100, connections: 5 }, pending: { tags: 40, connections: 0 } });
    await enforces(high, 100);

    // The tick takes gw-low's unused headroom (100 held, 60 in use) and the API says what gw-high waits for.
    const p = await waitFor('pre-emption', async () => {
      const v = await pendingOf(high.gatewayId);
      return v.waitsFor.length ? v : undefined;
    });
    expect(p).toMatchObject({ pending: { tags: 40, connections: 0 }, waitsFor: [{ gatewayId: low.gatewayId, name: 'gw-low', owes: { tags: 40, connections: 0 }, online: true }] });
    expect(Date.parse(p.timesOutAt!) - Date.parse(p.since!)).toBe(PENDING_TIMEOUT_SEC * 1000);
    const until = Date.parse(p.waitsFor[0]!.until!);
    expect(until).toBeGreaterThanOrEqual(victim.frozen!.expMs); // at least the lease gw-low's agent enforces
    expect((await gateway(low.gatewayId)).allocation.tags).toBe(60);
    const cuts = await audit(low.gatewayId, 'allocation.preempted');
    expect(cuts).toHaveLength(1);
    expect(cuts[0]).toMatchObject({ actor: 'system:preemption', after: { tags: 60, for: [high.gatewayId], depth: 'headroom' } });

    // A grant for gw-high after the cut but before the acknowledgement gives it nothing more.
    const seq = (await license(high)).seq;
    expect((await allocate(high, { tags: 140, connections: 6, priority: 5 })).allocationOutcome?.pending).toEqual({ tags: 40, connections: 0 });
    await waitFor('a fresh lease for gw-high', async () => {
      const l = await license(high);
      return l.seq > seq && l.maxConnections === 6;
    });
    expect((await license(high)).totalTagCount).toBe(100);
    expect((await pendingOf(high.gatewayId)).pending.tags).toBe(40);

    await watch.exclusive(async () => {
      low.agent.child.kill('SIGCONT');
      victim.state = 'running';
      victim.frozen = null;
    });
    await enforces(low, 60);
    await enforces(high, 140);
    await expectRefused(low, 1); // gw-low uses 60 of its 60
    // Through the acknowledgement, before gw-low's 100-tag lease expired.
    const [superseded] = await audit(low.gatewayId, 'lease.superseded');
    expect(superseded?.after).toMatchObject({ tags: 60 });
    expect((superseded!.before as Points[]).map((l) => l.tags)).toContain(100);
    const grant = (await audit(high.gatewayId)).find((r) => r.action.startsWith('lease.') && (r.after.points as Points | undefined)?.tags === 140)!;
    expect(grant.id).toBeGreaterThan(superseded!.id);
    const iatMs = (Number(grant.after.exp) - TTL_SEC) * 1000;
    expect(iatMs).toBeLessThan(until);
    expect(await pendingOf(high.gatewayId)).toMatchObject({ pending: { tags: 0, connections: 0 }, since: null, waitsFor: [] });
    console.log(`[elastic-e2e] gw-high's 140 granted ${until - iatMs} ms (lease iat, whole seconds) before gw-low's 100-tag lease would have expired`);
  }, 60_000);

  it("with the victim's agent killed, the raise completes at the victim's lease expiry, not before", async () => {
    // gw-low down to 25 in use: 35 of its 60 are unused headroom.
    expect((await neuron(low, 'DELETE', '/tags', { node: 'plc1', group: 'g1', tags: names('a', 35) })).body).toEqual({ error: 0 });
    await usageIs(low, 25);
    await watch.exclusive(async () => {
      low.agent.child.kill('SIGSTOP');
      victim.state = 'stopped';
      victim.frozen = await enforcedLease(low.stateDir);
    });
    expect(victim.frozen!.tags).toBe(60);
    expect((await allocate(high, { tags: 175, connections: 6, priority: 5 })).allocationOutcome?.pending).toEqual({ tags: 35, connections: 0 });
    const p = await waitFor('pre-emption', async () => {
      const v = await pendingOf(high.gatewayId);
      return v.waitsFor.length ? v : undefined;
    });
    expect(p.waitsFor).toMatchObject([{ gatewayId: low.gatewayId, owes: { tags: 35, connections: 0 } }]);
    expect((await gateway(low.gatewayId)).allocation.tags).toBe(25);

    await watch.exclusive(async () => {
      await low.agent.stop('SIGKILL');
      victim.state = 'dead';
    });
    const gone = await waitFor('gw-low offline in the pending view', async () => {
      const v = await pendingOf(high.gatewayId);
      return v.waitsFor[0]?.online === false ? v : undefined;
    });
    // It waits for the 60-tag lease, not for the 25-tag one pushed after the cut (later, never acknowledged).
    const until = Date.parse(gone.waitsFor[0]!.until!);
    expect(gone.waitsFor[0]!.until).toBe(p.waitsFor[0]!.until);
    expect(until).toBeGreaterThanOrEqual(victim.frozen!.expMs);

    let seenAt = 0;
    await waitFor(
      'gw-high enforces 175 tags',
      async () => {
        if ((await license(high)).totalTagCount !== 175) return false;
        seenAt = Date.now();
        return true;
      },
      { timeoutMs: until - Date.now() + 20_000, intervalMs: 20 },
    );
    // Read after the agent answered: an answer showing 175 before gw-low's exp fails here.
    expect(seenAt).toBeGreaterThanOrEqual(until);
    const grant = (await audit(high.gatewayId)).find((r) => r.action.startsWith('lease.') && (r.after.points as Points | undefined)?.tags === 175)!;
    const iatMs = (Number(grant.after.exp) - TTL_SEC) * 1000;
    expect(iatMs).toBeGreaterThanOrEqual(until); // granted on a clock at or past the expiry
    expect((await gateway(high.gatewayId)).held.tags).toBe(175);
    // 175 plus gw-low's 25 while its unacknowledged 25-tag lease lives (it may end in the same second).
    expect((await api<{ held: Points }>('GET', `/api/v1/pools/${poolId}`)).body.held.tags).toBeLessThanOrEqual(LIMIT);
    console.log(`[elastic-e2e] SIGKILLed victim: gw-high's 175 granted ${iatMs - until} ms (iat, whole seconds) and seen on its agent ${seenAt - until} ms after the victim's lease exp`);

    await watch.stop();
    console.log(`[elastic-e2e] agent-side watch: ${watch.samples} samples, most enforced at once ${watch.peak} of ${LIMIT}`);
    expect(watch.violations).toEqual([]);
    expect(watch.samples).toBeGreaterThan(20);
    expect(watch.peak).toBe(LIMIT);
  }, 90_000);
});
