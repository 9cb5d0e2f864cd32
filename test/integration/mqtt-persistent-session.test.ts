import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientLink } from '../../server/mqtt/broker-link.js';
import { connectMqtt, type MqttConnection } from '../../server/mqtt/mqtt-connection.js';
import { MQTT_ROOT, shared, topics } from '../../shared/protocol/mqtt-topics.js';
import { mosquittoInstalled, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { waitFor } from '../helpers/ports.js';
import mqtt from 'mqtt';

const logger = pino({ level: 'silent' });

/**
 * Finding 6 of issue 18: a replica that vanished (SIGSTOP, crash) lost the agents' messages the
 * broker gave it meanwhile (clean session, random client id). With a stable client id and an MQTT 5
 * session expiry it gets them when it returns.
 */
describe.skipIf(!mosquittoInstalled())('controller MQTT session across a replica outage (Mosquitto)', () => {
  let broker: TestBroker;
  const open: MqttConnection[] = [];
  beforeAll(async () => {
    broker = await startMosquitto({ users: [{ username: 'ctl', password: 'pw' }], acl: 'user ctl\ntopic readwrite #\n' });
  });
  afterAll(async () => {
    for (const c of open) await c.close();
    await broker?.dispose();
  });

  const replica = (sessionExpirySec: number) => {
    const c = connectMqtt({ url: broker.url, username: 'ctl', password: 'pw', clientId: 'floatlease-controller-r1', sessionExpirySec, logger });
    open.push(c);
    const got: string[] = [];
    const link = clientLink(c.client);
    link.subscribe([shared(topics.allUp)], () => undefined);
    link.onMessage((_t, p) => got.push(p.toString()));
    return { c, got };
  };

  it('gets the messages published while it was gone once it returns with the same client id', async () => {
    const first = replica(60);
    await waitFor('subscribed', () => first.c.client.connected);
    // Let the SUBACK arrive before the outage.
    await new Promise<void>((resolve) => first.c.client.subscribe('probe/none', { qos: 1 }, () => resolve()));
    // Vanish without a DISCONNECT, as a killed or frozen process does.
    first.c.client.stream.destroy();
    await first.c.client.endAsync(true);
    const agent = await mqtt.connectAsync(broker.url, { username: 'ctl', password: 'pw', clientId: 'agent-x' });
    for (let i = 0; i < 3; i++) await agent.publishAsync(`${MQTT_ROOT}/00000000-0000-4000-8000-000000000001/up/renew`, `m${i}`, { qos: 1 });
    await agent.endAsync();
    const back = replica(60);
    await waitFor('queued messages delivered on return', () => back.got.length >= 3, { timeoutMs: 10_000 });
    expect(back.got.sort()).toEqual(['m0', 'm1', 'm2']);
  });
});
