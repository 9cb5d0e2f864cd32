import crypto from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { io as ioc } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentClientId, topics } from '../../../shared/protocol/mqtt-topics.js';
import { AGENT_NAMESPACE } from '../../../shared/protocol/socket-events.js';
import { brokerVariants } from '../../helpers/broker-variants.js';
import { startControllerStack, type ControllerStack } from '../../helpers/controller-stack.js';
import { waitFor } from '../../helpers/ports.js';
import { restClient } from '../../helpers/rest-client.js';

// Issue 15, finding 3: after DELETE /gateways/{id} the open MQTT session kept publishing usage and
// presence, its Socket.IO usage got {ok:true}, and enrolling again silently restored it.
const ADMIN = `fl_${'d'.repeat(43)}`;
const hw = () => crypto.createHash('sha256').update(crypto.randomBytes(8)).digest('base64');

describe.each(brokerVariants())('decommission ends access ($name)', (variant) => {
  let stack: ControllerStack;
  let code: string;
  const clients: MqttClient[] = [];
  const api = restClient(() => stack.ctl.url, ADMIN);
  const enroll = async (hardwareId: string) =>
    api<{ gatewayId: string; credential: string; reenrolled: boolean }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId }, null);
  const gateway = async (id: string) =>
    (await api<{ online: boolean; usage: { tags: number } | null; revokedAt?: string | null }>('GET', `/api/v1/gateways/${id}`)).body;

  beforeAll(async () => {
    stack = await startControllerStack({ name: 'decom', admin: ADMIN, broker: variant });
    ({ code } = await stack.pool('p1', { tags: 500, connections: 50 }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await stack?.close();
  });

  it('live MQTT and Socket.IO sessions end at once, the credential is gone, enrolling again needs an admin restore', async () => {
    const hwM = hw();
    const m = (await enroll(hwM)).body;
    const w = (await enroll(hw())).body;
    const c = await mqtt.connectAsync(stack.mqttUrl, {
      username: m.gatewayId,
      password: m.credential,
      clientId: agentClientId(m.gatewayId),
      reconnectPeriod: 0,
      keepalive: 30,
    });
    clients.push(c);
    const mqttClosed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await c.publishAsync(topics.presence(m.gatewayId), '{"online":true}', { qos: 1, retain: true });
    await waitFor('mqtt gateway online', async () => (await gateway(m.gatewayId)).online);

    const s = ioc(`${stack.ctl.url}${AGENT_NAMESPACE}`, { auth: { credential: w.credential }, transports: ['websocket'], reconnection: false });
    try {
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      await waitFor('ws gateway online', async () => (await gateway(w.gatewayId)).online);
      const wsClosed = new Promise<void>((resolve) => s.once('disconnect', () => resolve()));

      expect((await api('DELETE', `/api/v1/gateways/${m.gatewayId}`)).status).toBe(200);
      expect((await api('DELETE', `/api/v1/gateways/${w.gatewayId}`)).status).toBe(200);
      // Both sessions are ended by the controller (or the broker), not by a later credential check.
      await waitFor('mqtt session closed', () => mqttClosed.then(() => true), { timeoutMs: 10_000 });
      await waitFor('socket.io session closed', () => wsClosed.then(() => true), { timeoutMs: 10_000 });
    } finally {
      s.close();
    }
    // The broker credential is deleted: the old one no longer connects.
    await expect(
      mqtt.connectAsync(stack.mqttUrl, { username: m.gatewayId, password: m.credential, clientId: agentClientId(m.gatewayId), reconnectPeriod: 0 }),
    ).rejects.toThrow();
    expect((await gateway(m.gatewayId)).online).toBe(false);

    // Enrolling again with the same code and hardware is refused until an administrator restores it.
    const again = await enroll(hwM);
    expect(again.status).toBe(409);
    const viewer = (await api<{ token: string }>('POST', '/api/v1/tokens', { name: `v-${crypto.randomUUID().slice(0, 6)}`, role: 'operator' })).body.token;
    expect((await api('POST', `/api/v1/gateways/${m.gatewayId}/restore`, undefined, viewer)).status).toBe(403);
    expect((await api('POST', `/api/v1/gateways/${m.gatewayId}/restore`)).status).toBe(200);
    const restored = await enroll(hwM);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ gatewayId: m.gatewayId, reenrolled: true });
    const audit = (await api<{ items: { action: string }[] }>('GET', `/api/v1/audit?gatewayId=${m.gatewayId}`)).body.items.map((i) => i.action);
    expect(audit).toEqual(expect.arrayContaining(['gateway.revoked', 'gateway.restored', 'gateway.reenrolled']));
  });
});
