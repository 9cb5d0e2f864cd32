import crypto from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentClientId, topics } from '../../../shared/protocol/mqtt-topics.js';
import { brokerVariants } from '../../helpers/broker-variants.js';
import { startControllerStack, type ControllerStack } from '../../helpers/controller-stack.js';
import { waitFor } from '../../helpers/ports.js';
import { restClient } from '../../helpers/rest-client.js';

// Issue 15, finding 1: a gateway connecting with another gateway's client id closed that
// gateway's session and fired its last will (offline, lease reclaimed).
const ADMIN = `fl_${'c'.repeat(43)}`;
const hw = () => crypto.createHash('sha256').update(crypto.randomBytes(8)).digest('base64');

describe.each(brokerVariants())('MQTT client ids are bound to the gateway ($name)', (variant) => {
  let stack: ControllerStack;
  let code: string;
  const clients: MqttClient[] = [];
  const api = restClient(() => stack.ctl.url, ADMIN);
  const enroll = async () =>
    (await api<{ gatewayId: string; credential: string }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId: hw() }, null)).body;
  const connect = async (username: string, password: string, clientId: string) => {
    const c = await mqtt.connectAsync(stack.mqttUrl, {
      username,
      password,
      clientId,
      reconnectPeriod: 0,
      keepalive: 30,
      will: { topic: topics.presence(username), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    clients.push(c);
    return c;
  };
  /** Connects as the gateway's agent, says hello, and resolves with its first lease's seq. */
  const agent = async (gw: { gatewayId: string; credential: string }) => {
    const c = await connect(gw.gatewayId, gw.credential, agentClientId(gw.gatewayId));
    await c.subscribeAsync(topics.lease(gw.gatewayId), { qos: 1 });
    const lease = new Promise<number>((resolve) =>
      c.on('message', (t, p) => t === topics.lease(gw.gatewayId) && resolve((JSON.parse(p.toString()) as { seq: number }).seq)),
    );
    await c.publishAsync(topics.presence(gw.gatewayId), '{"online":true}', { qos: 1, retain: true });
    await c.publishAsync(topics.up(gw.gatewayId, 'hello'), JSON.stringify({ agentVersion: 'test' }), { qos: 1 });
    await lease;
    await waitFor('gateway online', async () => (await api<{ online: boolean }>('GET', `/api/v1/gateways/${gw.gatewayId}`)).body.online);
    return c;
  };
  const offlineRows = async (gatewayId: string) =>
    (await api<{ items: unknown[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}&action=gateway.offline`)).body.items.length;
  const reclaimedRows = async (gatewayId: string) =>
    (await api<{ items: { action: string }[] }>('GET', `/api/v1/audit?gatewayId=${gatewayId}`)).body.items.filter((i) => i.action.includes('reclaim')).length;

  beforeAll(async () => {
    stack = await startControllerStack({ name: 'clientid', admin: ADMIN, broker: variant });
    ({ code } = await stack.pool('p1', { tags: 500, connections: 50 }, { settings: { reclaim: 'on-disconnect' } }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await stack?.close();
  });

  it("a gateway cannot connect with another gateway's client id; the victim stays connected and online", async () => {
    const a = await enroll();
    const b = await enroll();
    const cb = await agent(b);
    let bClosed = 0;
    cb.on('close', () => bClosed++);
    await expect(connect(a.gatewayId, a.credential, agentClientId(b.gatewayId))).rejects.toThrow();
    // Nor any id but its own.
    await expect(connect(a.gatewayId, a.credential, `agent-${a.gatewayId}-x`)).rejects.toThrow();
    await expect(connect(a.gatewayId, a.credential, 'anything')).rejects.toThrow();
    // B's session is untouched: it still round-trips with the controller.
    await cb.publishAsync(topics.up(b.gatewayId, 'hello'), JSON.stringify({ agentVersion: 'test' }), { qos: 1 });
    expect(bClosed).toBe(0);
    expect(cb.connected).toBe(true);
    expect(await offlineRows(b.gatewayId)).toBe(0);
    expect((await api<{ online: boolean }>('GET', `/api/v1/gateways/${b.gatewayId}`)).body.online).toBe(true);
    // A's own id still works.
    await agent(a);
  });

  it('a second connection of the same gateway replaces the first without a presence flap or a reclaim', async () => {
    const g = await enroll();
    const first = await agent(g);
    const firstClosed = new Promise<void>((resolve) => first.once('close', () => resolve()));
    const second = await agent(g);
    await firstClosed;
    // A round trip on the new session after the old one closed: any will it fired was handled by now.
    await second.publishAsync(topics.up(g.gatewayId, 'hello'), JSON.stringify({ agentVersion: 'test' }), { qos: 1 });
    await waitFor('gateway online', async () => (await api<{ online: boolean }>('GET', `/api/v1/gateways/${g.gatewayId}`)).body.online);
    expect(await offlineRows(g.gatewayId)).toBe(0);
    expect(await reclaimedRows(g.gatewayId)).toBe(0);
  });
});
