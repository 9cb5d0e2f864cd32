import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../helpers/agent-process.js';
import { startAedes } from '../helpers/brokers.js';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';

const ADMIN = `fl_${'f'.repeat(43)}`;

/** A controller on an external broker that the test can stop, and an agent configured with both transports. */
describe('agent failover between MQTT and WebSocket', () => {
  let s: ControllerStack;
  let agent: AgentProcess;
  const api = restClient(() => s.ctl.url, ADMIN);

  beforeAll(async () => {
    s = await startControllerStack({
      name: 'failover-e2e',
      admin: ADMIN,
      broker: { broker: () => startAedes(), env: (b) => ({ MQTT_URL: b!.url, MQTT_SHARED_SUBSCRIPTIONS: 'false' }) },
    });
    // The shortest lease TTL (15 s): a renewal every 5 s.
    const { code } = await s.pool('failover', { tags: 500, connections: 20 }, { settings: { leaseTtlSeconds: 15 }, seats: 1 });
    agent = s.agent({ FLOATLEASE_TRANSPORT: 'mqtt,ws', FLOATLEASE_FAILOVER_AFTER_SEC: '1', FLOATLEASE_ACTIVATION_CODE: code });
  }, 90_000);
  afterAll(() => s?.close());

  it('renews over WebSocket while the broker is down, and returns to MQTT when it is back', async () => {
    const { gatewayId } = await agent.ready();
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 200, connections: 4 });
    await waitFor('limits over mqtt', async () => {
      const l = await agent.license();
      return l.totalTagCount === 200 && l.transport === 'mqtt';
    });

    const seqBefore = Number((await agent.license()).seq);
    const down = Date.now();
    await s.broker!.stop();
    // hello on the new transport brings one lease; the scheduled renewal (a third of 15 s) the next.
    const seqOnWs = await waitFor('on ws with a lease', async () => {
      const l = await agent.license();
      return l.transport === 'ws' && Number(l.seq) > seqBefore ? Number(l.seq) : undefined;
    }, { timeoutMs: 10_000 });
    const switchedIn = Date.now() - down;
    await waitFor('a scheduled renewal over ws', async () => Number((await agent.license()).seq) > seqOnWs, { timeoutMs: 10_000, intervalMs: 100 });
    const lic = await agent.license();
    expect(lic).toMatchObject({ mode: 'FLOATING', totalTagCount: 200, maxConnections: 4, transport: 'ws', controllerReachable: true });
    expect(await s.gateway(gatewayId)).toMatchObject({ online: true, transport: 'ws' });
    console.info(`broker down: agent on WebSocket after ${switchedIn} ms, renewed over it ${Date.now() - down} ms after the outage began`);

    const up = Date.now();
    await s.broker!.restart();
    await waitFor('back on mqtt with a fresh lease', async () => {
      const l = await agent.license();
      return l.transport === 'mqtt' && Number(l.seq) > Number(lic.seq);
    }, { timeoutMs: 45_000, intervalMs: 100 });
    console.info(`broker back: agent on MQTT again after ${Date.now() - up} ms`);
    expect(await agent.license()).toMatchObject({ mode: 'FLOATING', totalTagCount: 200 });
    await waitFor('controller sees mqtt', async () => {
      const g = await s.gateway(gatewayId);
      return g.online && g.transport === 'mqtt';
    }, { timeoutMs: 10_000 });
    // Limits never dropped to the trial allowance during the switch.
    expect(agent.logs.filter((l) => l.msg === 'refused a lease')).toEqual([]);
  }, 90_000);
});
