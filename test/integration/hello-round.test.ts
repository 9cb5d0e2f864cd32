import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttTransport } from '../../agent/transport/mqtt-transport.js';
import type { AgentTransport, TransportHandlers } from '../../agent/transport/agent-transport.js';
import { AgentHandler } from '../../server/leases/agent-handler.js';
import { clientLink } from '../../server/mqtt/broker-link.js';
import { runHelloRound } from '../../server/mqtt/hello-round.js';
import { MqttAgentBridge } from '../../server/mqtt/mqtt-agent-bridge.js';
import { connectMqtt, type MqttConnection } from '../../server/mqtt/mqtt-connection.js';
import { startHarness, type Harness } from '../helpers/api-harness.js';
import { mosquittoInstalled, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { waitFor } from '../helpers/ports.js';

const logger = pino({ level: 'silent' });

/**
 * Issue 14, presence at start with an external broker: the retained presence misses a gateway
 * whose agent vanished without its will reaching the retained topic, so the controller asks every
 * gateway shown online over MQTT to say hello again and marks offline those that stay silent for
 * the window. Real Mosquitto, the agent's real MQTT transport.
 */
describe.skipIf(!mosquittoInstalled())('hello round at controller start (Mosquitto)', () => {
  let h: Harness;
  let broker: TestBroker;
  let controller: MqttConnection;
  let agent: MqttTransport;
  let live: { gatewayId: string; credential: string };
  let ghost: { gatewayId: string; credential: string };
  let helloRequests = 0;

  beforeAll(async () => {
    h = await startHarness();
    const poolId = await h.pool({ tags: 100, connections: 10 });
    const code = await h.code(poolId, 2);
    live = await h.enroll(code);
    ghost = await h.enroll(code);
    broker = await startMosquitto({
      users: [
        { username: 'ctl', password: 'pw' },
        { username: live.gatewayId, password: live.credential },
      ],
      acl: 'user ctl\ntopic readwrite #\n\npattern readwrite floatlease/v1/gw/%u/#\n',
    });
    controller = connectMqtt({ url: broker.url, username: 'ctl', password: 'pw', clientId: 'floatlease-controller-hello', logger });
    const bridge = new MqttAgentBridge(clientLink(controller.client), h.db.database.db, new AgentHandler(h.services), logger, { sharedSubscriptions: false });
    bridge.start();
    await waitFor('the controller on the broker', () => controller.client.connected);
    const hello = (via: AgentTransport) => void via.hello({ agentVersion: 'test' }, 0).catch(() => undefined);
    const handlers: TransportHandlers = {
      lease: async () => true,
      problem: () => undefined,
      up: hello, // as the agent's ControllerLink does on activation
      down: () => undefined,
      authRefused: () => undefined,
      helloRequested: (via) => {
        helloRequests += 1;
        hello(via);
      },
    };
    agent = new MqttTransport({ url: broker.url, identity: live, keepaliveSec: 30, handlers, logger });
    agent.start();
  });
  afterAll(async () => {
    await agent?.close();
    await controller?.close();
    await broker?.dispose();
    await h?.close();
  });

  const row = async (id: string) =>
    (await h.db.database.sql<{ online: boolean; seen_ms: number }[]>`select online, coalesce(extract(epoch from last_seen_at) * 1000, 0)::float8 as seen_ms from gateways where id = ${id}`)[0]!;
  const offlineAudits = async (id: string) =>
    (await h.db.database.sql<{ n: number }[]>`select count(*)::int as n from audit_events where gateway_id = ${id} and action = 'gateway.offline'`)[0]!.n;

  it('keeps a connected agent online (it says hello again) and marks the silent ghost offline, once', async () => {
    await waitFor('the live agent online after its hello', async () => (await row(live.gatewayId)).online);
    // The ghost: shown online over MQTT from before the restart, nobody connected, no retained will.
    await h.services.presence.set(ghost.gatewayId, true, 'mqtt');
    expect((await row(ghost.gatewayId)).online).toBe(true);
    const seenBefore = (await row(live.gatewayId)).seen_ms;

    const result = await runHelloRound(
      { sql: h.db.database.sql, link: clientLink(controller.client), setOfflineIf: (id, t, still) => h.services.presence.setOfflineIf(id, t, still), logger },
      3_000,
    );

    expect(result.asked).toBe(2);
    expect(result.offline).toEqual([ghost.gatewayId]);
    expect(helloRequests).toBe(1);
    const l = await row(live.gatewayId);
    expect(l.online).toBe(true);
    expect(l.seen_ms, 'the live agent answered the round with a hello').toBeGreaterThan(seenBefore);
    expect((await row(ghost.gatewayId)).online).toBe(false);
    expect(await offlineAudits(ghost.gatewayId)).toBe(1);
    expect(await offlineAudits(live.gatewayId)).toBe(0);

    // A second round finds nothing to do: the ghost is not asked again, nothing is audited twice.
    const again = await runHelloRound(
      { sql: h.db.database.sql, link: clientLink(controller.client), setOfflineIf: (id, t, still) => h.services.presence.setOfflineIf(id, t, still), logger },
      1_000,
    );
    expect(again.asked).toBe(1);
    expect(again.offline).toEqual([]);
    expect(await offlineAudits(ghost.gatewayId)).toBe(1);
  });
});
