import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoDynsec } from '../helpers/broker-variants.js';
import { mosquittoInstalled } from '../helpers/brokers.js';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const ADMIN = `fl_${'p'.repeat(43)}`;
const ON_DISCONNECT_ENV = { SWEEP_INTERVAL_MS: '250', RECLAIM_SKEW_MARGIN_SEC: '2' };

/** A pool of a fresh name with a license of `tags` tags and 50 connections, and its activation code. */
const setupPool = (s: ControllerStack, settings: Record<string, unknown>, tags = 500) =>
  s.pool(`p-${crypto.randomUUID().slice(0, 8)}`, { tags, connections: 50 }, { settings });

/** reclaim on-disconnect under partition, and presence across a controller restart (embedded broker). */
describe('partitions and presence, embedded broker', () => {
  let s: ControllerStack;
  const proxies: TcpProxy[] = [];
  const api = restClient(() => s.ctl.url, ADMIN);
  const gateway = (id: string) => s.gateway(id);
  const reclaims = async (gatewayId: string) => (await api<{ items: unknown[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&action=lease.reclaimed`)).body.items.length;

  /** An agent whose every route to the controller (MQTT and HTTP) runs through proxies the test can cut. */
  async function agentBehindProxies(code: string, allocation: { tags: number; connections: number }, granted = allocation.tags) {
    const mqtt = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s.ctl.mqttUrl).port) });
    const http = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s.ctl.url).port) });
    proxies.push(mqtt, http);
    const a = s.agent({
      FLOATLEASE_CONTROLLER_URL: http.url('http'),
      FLOATLEASE_MQTT_URL: mqtt.url('mqtt'),
      FLOATLEASE_MQTT_KEEPALIVE_SEC: '2',
      FLOATLEASE_ACTIVATION_CODE: code,
    });
    const { gatewayId } = await a.ready(60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}; agent logs: ${a.logs.slice(-8).map((l) => JSON.stringify(l)).join('\n')}`);
    });
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, allocation);
    await waitFor('limits applied', async () => (await a.license()).totalTagCount === granted);
    await waitFor('lease acknowledged', async () => (await gateway(gatewayId)).lease?.state === 'acknowledged');
    const cut = { blackhole: () => [mqtt, http].forEach((p) => p.blackhole()), heal: () => [mqtt, http].forEach((p) => p.heal()) };
    return { a, gatewayId, cut };
  }

  beforeAll(async () => {
    s = await startControllerStack({ name: 'partition', admin: ADMIN, restartable: true, env: ON_DISCONNECT_ENV, readyTimeoutMs: 90_000 });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(s?.agents.map((a) => a.stop('SIGKILL')) ?? []);
    await Promise.all(proxies.map((p) => p.close()));
    await s?.close();
  });

  it('a partitioned agent of an on-disconnect pool is on trial before its points are granted to anyone else (both sides measured)', async () => {
    const { code } = await setupPool(s, { reclaim: 'on-disconnect', disconnectGraceSeconds: 8, leaseTtlSeconds: 60 }, 100);
    const { a, gatewayId, cut } = await agentBehindProxies(code, { tags: 80, connections: 8 });
    // A second gateway entitled to 80 gets the 20 that are free and waits for the rest.
    const { a: other } = await agentBehindProxies(code, { tags: 80, connections: 8 }, 20);
    const exp = Date.parse((await gateway(gatewayId)).lease!.expiresAt);
    const cutAt = Date.now();
    cut.blackhole();
    let agentTrialAt: number | undefined;
    let reclaimedAt: number | undefined;
    let otherGotThemAt: number | undefined;
    const samples: { at: number; leaseState: string | undefined; otherTags: unknown; mode: unknown }[] = [];
    await waitFor(
      'the points granted to the other gateway',
      async () => {
        // Controller and the other agent first, then the partitioned agent: sampled after its points
        // were seen freed or enforced elsewhere, it must already be on trial.
        const leaseState = (await gateway(gatewayId)).lease?.state;
        const otherTags = (await other.license()).totalTagCount;
        const mode = (await a.license()).mode;
        const at = Date.now();
        samples.push({ at: at - cutAt, leaseState, otherTags, mode });
        if (mode === 'TRIAL') agentTrialAt ??= at;
        if (leaseState === 'reclaimed') reclaimedAt ??= at;
        if (otherTags === 80) otherGotThemAt ??= at;
        if (reclaimedAt !== undefined || otherGotThemAt !== undefined) expect(mode, JSON.stringify(samples.slice(-5))).toBe('TRIAL');
        // Never both enforcing: 80 + 80 in a 100-tag pool (what was seen: 160 for 21.7 s).
        if (mode === 'FLOATING') expect(otherTags).toBe(20);
        return otherGotThemAt !== undefined;
      },
      { timeoutMs: 40_000, intervalMs: 100 },
    );
    expect(agentTrialAt).toBeDefined();
    expect(reclaimedAt).toBeDefined();
    // The order of the two events themselves, not of the samples that saw them (one sample can see
    // both): the agent's cut-off log line against the reclaim's audit row, one host clock.
    const cutOffLog = a.logs.find((l) => String(l.msg).startsWith('cut off from the controller'));
    const reclaimAudit = (await api<{ items: { at: string }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&action=lease.reclaimed`)).body.items[0];
    expect(Number(cutOffLog?.time)).toBeLessThan(Date.parse(reclaimAudit!.at));
    expect(reclaimedAt!).toBeLessThanOrEqual(otherGotThemAt!);
    // Returned on the disconnect rule, well before the lease's own expiry.
    expect(reclaimedAt!).toBeLessThan(exp);
    // While the agent was still FLOATING, the controller counted the lease as live. The latest lease
    // may be 'issued': a renewal the controller answered just as the cut swallowed the answer (seen
    // under stress-ng); the acknowledged lease the agent enforces stays live until a newer one is acked.
    for (const s of samples) if (s.mode === 'FLOATING') expect(['issued', 'acknowledged'], JSON.stringify(s)).toContain(s.leaseState);
    expect(a.logs.some((l) => String(l.msg).startsWith('cut off from the controller'))).toBe(true);
    console.info(`partition: agent on trial ${agentTrialAt! - cutAt} ms after the cut, points freed ${reclaimedAt! - cutAt} ms, enforced by the other gateway ${otherGotThemAt! - cutAt} ms (lease exp ${exp - cutAt} ms)`);
    cut.heal();
    // Back, it waits for the points the other gateway now holds: 20 are free.
    await waitFor('back online', async () => (await gateway(gatewayId)).online, { timeoutMs: 20_000 });
    await waitFor('the returning agent gets what is free', async () => (await a.license()).totalTagCount === 20, { timeoutMs: 20_000 });
  }, 90_000);

  it('a partition shorter than the grace returns nothing and the agent stays FLOATING', async () => {
    // The agent's grace counts from its last answered request (its hello; a pushed lease is not one),
    // not from the cut: 45 s, so a stressed machine's slow set-up and offline detection stay inside it
    // (a stress-ng run with 20 s found the agent already on trial when the controller marked it offline).
    const { code } = await setupPool(s, { reclaim: 'on-disconnect', disconnectGraceSeconds: 45, leaseTtlSeconds: 90 });
    const { a, gatewayId, cut } = await agentBehindProxies(code, { tags: 30, connections: 3 });
    cut.blackhole();
    // Long enough for the broker to miss the keepalive (1.5 × 2 s) and mark the gateway offline.
    await waitFor('offline on the controller', async () => !(await gateway(gatewayId)).online, { timeoutMs: 15_000, intervalMs: 100 });
    expect((await a.license()).mode).toBe('FLOATING');
    cut.heal();
    await waitFor('online again', async () => (await gateway(gatewayId)).online, { timeoutMs: 20_000, intervalMs: 100 });
    // Past when the offline spell's grace + margin would have ended: still nothing reclaimed. An
    // observation window (every sample must pass); the sleep only paces the samples.
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      expect((await a.license()).mode).toBe('FLOATING');
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await reclaims(gatewayId)).toBe(0);
    expect((await gateway(gatewayId)).lease?.state).toBe('acknowledged');
  }, 90_000);

  it('ghost online: an agent killed while the controller was down shows offline after the restart', async () => {
    const { code } = await setupPool(s, {});
    const { a: doomed, gatewayId: doomedId } = await agentBehindProxies(code, { tags: 10, connections: 1 });
    const { gatewayId: aliveId } = await agentBehindProxies(code, { tags: 10, connections: 1 });
    expect((await gateway(doomedId)).online).toBe(true);
    await s.ctl.stop('SIGKILL');
    await doomed.stop('SIGKILL');
    await s.start();
    // Nobody can be connected to an embedded broker that just started: no stale "online".
    expect((await gateway(doomedId)).online).toBe(false);
    await waitFor('the live agent is back online', async () => (await gateway(aliveId)).online, { timeoutMs: 60_000, intervalMs: 200 });
    expect((await gateway(doomedId)).online).toBe(false);
    const offline = (await api<{ items: { after: Record<string, unknown> }[] }>('GET', `/api/v1/audit?gatewayId=${doomedId}&action=gateway.offline`)).body.items;
    expect(offline.map((e) => e.after)).toEqual([{ transport: 'mqtt', reason: 'controller-start' }]);
  }, 180_000);
});

// Skipped only where Mosquitto is not installed; .ci/run installs it, so CI always runs this.
describe.skipIf(!mosquittoInstalled())('a Mosquitto outage shorter than the grace (agents fail over to WebSocket and back)', () => {
  let s: ControllerStack;
  const api = restClient(() => s.ctl.url, ADMIN);
  const gateway = (id: string) => s.gateway(id);

  beforeAll(async () => {
    s = await startControllerStack({ name: 'outage', admin: ADMIN, broker: mosquittoDynsec, env: ON_DISCONNECT_ENV, readyTimeoutMs: 90_000 });
    const { code } = await setupPool(s, { reclaim: 'on-disconnect', disconnectGraceSeconds: 30, leaseTtlSeconds: 120 });
    for (let i = 0; i < 2; i++) {
      s.agent({ FLOATLEASE_TRANSPORT: 'mqtt,ws', FLOATLEASE_FAILOVER_AFTER_SEC: '1', FLOATLEASE_MQTT_KEEPALIVE_SEC: '2', FLOATLEASE_ACTIVATION_CODE: code });
    }
  }, 90_000);
  afterAll(() => s?.close());

  it('returns nothing: no lease reclaimed, every agent FLOATING throughout, back on MQTT after', async () => {
    const ids: string[] = [];
    for (const a of s.agents) {
      const { gatewayId } = await a.ready(60_000);
      ids.push(gatewayId);
      await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 40, connections: 4 });
      await waitFor('limits applied', async () => (await a.license()).totalTagCount === 40);
      await waitFor('online over MQTT', async () => (await gateway(gatewayId)).transport === 'mqtt');
    }
    await s.broker!.stop();
    // Observation windows (every sample must pass); the sleeps only pace the samples.
    const back = Date.now() + 8_000;
    while (Date.now() < back) {
      for (const a of s.agents) expect((await a.license()).mode).toBe('FLOATING');
      await new Promise((r) => setTimeout(r, 200));
    }
    await s.broker!.restart();
    for (const id of ids) await waitFor('back on MQTT and online', async () => {
      const g = await gateway(id);
      return g.online && g.transport === 'mqtt';
    }, { timeoutMs: 30_000, intervalMs: 200 });
    // A few sweeps after the switch back: still nothing reclaimed (what was seen: every lease, twice).
    const settle = Date.now() + 3_000;
    while (Date.now() < settle) {
      for (const a of s.agents) expect((await a.license()).mode).toBe('FLOATING');
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const id of ids) {
      expect((await api<{ items: unknown[] }>('GET', `/api/v1/audit?gatewayId=${id}&action=lease.reclaimed`)).body.items).toEqual([]);
      expect(['issued', 'acknowledged']).toContain((await gateway(id)).lease?.state);
    }
  }, 120_000);
});
