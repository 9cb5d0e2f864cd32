import crypto from 'node:crypto';
import mqtt from 'mqtt';
import { io as ioc } from 'socket.io-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ControllerProcess } from '../../helpers/controller-process.js';
import { startControllerStack, type ControllerStack } from '../../helpers/controller-stack.js';
import { agentClientId, topics } from '../../../shared/protocol/mqtt-topics.js';
import { AGENT_NAMESPACE } from '../../../shared/protocol/socket-events.js';
import { waitFor } from '../../helpers/ports.js';
import { restClient } from '../../helpers/rest-client.js';

// Issue 15, finding 9: every malformed agent message wrote a log line, without bound.
const ADMIN = `fl_${'m'.repeat(43)}`;
let s: ControllerStack;
let ctl: ControllerProcess;
const api = restClient(() => ctl.url, ADMIN);

beforeAll(async () => {
  s = await startControllerStack({ name: 'malformed', admin: ADMIN });
  ctl = s.ctl;
}, 60_000);
afterAll(() => s?.close());

const counted = async (transport: string) => {
  const text = await (await fetch(`${ctl.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`floatlease_agent_malformed_messages_total{transport="${transport}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
};
const logLines = () => ctl.logs.filter((l) => /dropped (malformed|invalid)/.test(String(l.msg))).length;

it('300 malformed MQTT and 300 invalid Socket.IO messages from one gateway: all counted, one log line for the gateway', async () => {
  const poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: 'p' })).body.id;
  const code = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 2 })).body.code;
  const hardwareId = crypto.createHash('sha256').update(crypto.randomBytes(8)).digest('base64');
  const gw = (await api<{ gatewayId: string; credential: string }>('POST', '/api/v1/enroll', { activationCode: code, hardwareId }, null)).body;
  const before = logLines();

  const c = await mqtt.connectAsync(ctl.mqttUrl, { username: gw.gatewayId, password: gw.credential, clientId: agentClientId(gw.gatewayId), reconnectPeriod: 0 });
  try {
    for (let i = 0; i < 150; i++) await c.publishAsync(topics.up(gw.gatewayId, 'usage'), `{not json ${i}`, { qos: 1 });
    for (let i = 0; i < 150; i++) await c.publishAsync(topics.up(gw.gatewayId, 'usage'), JSON.stringify({ tags: -i }), { qos: 1 });
    await waitFor('mqtt messages counted', async () => (await counted('mqtt')) >= 300);
  } finally {
    await c.endAsync(true);
  }
  const s = ioc(`${ctl.url}${AGENT_NAMESPACE}`, { auth: { credential: gw.credential }, transports: ['websocket'], reconnection: false });
  try {
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    for (let i = 0; i < 300; i++) await s.timeout(5_000).emitWithAck('usage', { tags: 'many' });
  } finally {
    s.close();
  }
  expect(await counted('mqtt')).toBe(300);
  expect(await counted('ws')).toBe(300);
  expect(logLines() - before).toBe(1);
});
