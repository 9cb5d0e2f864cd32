import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoDynsec } from '../helpers/broker-variants.js';
import { mosquittoInstalled } from '../helpers/brokers.js';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';

const ADMIN = `fl_${'q'.repeat(43)}`;

// Skipped only where Mosquitto is not installed; .ci/run installs it, so CI always runs this.
describe.skipIf(!mosquittoInstalled())('real agents through an external Mosquitto (dynamic security)', () => {
  let s: ControllerStack;
  let poolId: string;
  let code: string;
  const api = restClient(() => s.ctl.url, ADMIN);
  const held = async () => (await s.poolView(poolId)).held.tags;
  const online = async (id: string) => (await s.gateway(id)).online;
  const agent = () => s.agent({ FLOATLEASE_MQTT_KEEPALIVE_SEC: '2', FLOATLEASE_ACTIVATION_CODE: code });

  beforeAll(async () => {
    s = await startControllerStack({ name: 'agent-mosq', admin: ADMIN, broker: mosquittoDynsec });
    ({ poolId, code } = await s.pool('site-m', { tags: 500, connections: 50 }));
  }, 90_000);
  afterAll(() => s?.close());

  // How fast each step is belongs to the bench (test/bench/phases/alloc-latency.ts, release.ts, silent-loss.ts).
  it('applies an allocation, and returns the points by the release at SIGTERM', async () => {
    const a = agent();
    const { gatewayId } = await a.ready();
    expect((await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 70, connections: 7 })).status).toBe(200);
    await waitFor('limits applied', async () => (await a.license()).totalTagCount === 70, { intervalMs: 20 });
    await waitFor('acknowledged', async () => (await s.gateway(gatewayId)).lease?.state === 'acknowledged');
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
      const l = (await s.gateway(gatewayId)).lease;
      return l?.state === 'issued' && l.points.tags === 0;
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
