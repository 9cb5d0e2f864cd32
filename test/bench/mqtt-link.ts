import mqtt, { type MqttClient } from 'mqtt';
import { agentErrorMessage, leaseMessage } from '../../shared/protocol/agent-messages.js';
import { agentClientId, topics } from '../../shared/protocol/mqtt-topics.js';
import type { AgentLink, LinkEvents } from './agent-link.js';
import type { AgentSpec } from './fleet-messages.js';

const OFFLINE = Buffer.from('{"online":false}');
const ONLINE = '{"online":true}';
const HELLO = JSON.stringify({ agentVersion: 'floatlease-bench' });

/**
 * An agent on MQTT 3.1.1: username = gateway id, password = credential, a retained last will
 * `{"online":false}` on its presence topic, leases retained on its lease topic.
 */
export class MqttLink implements AgentLink {
  private client: MqttClient | undefined;
  private readonly leaseTopic: string;
  private readonly errorTopic: string;

  constructor(
    private readonly url: string,
    private readonly spec: AgentSpec,
    private readonly keepaliveSec: number,
    private readonly events: LinkEvents,
  ) {
    this.leaseTopic = topics.lease(spec.gatewayId);
    this.errorTopic = topics.error(spec.gatewayId);
  }

  open(): void {
    const id = this.spec.gatewayId;
    const client = mqtt.connect(this.url, {
      protocolVersion: 4,
      clientId: agentClientId(id),
      username: id,
      password: this.spec.credential,
      clean: true,
      keepalive: this.keepaliveSec,
      connectTimeout: 30_000,
      // Spread reconnects so a dropped broker does not see them all in the same millisecond.
      reconnectPeriod: 2_000 + Math.floor(Math.random() * 3_000),
      will: { topic: topics.presence(id), payload: OFFLINE, qos: 1, retain: true },
    });
    client.setMaxListeners(50);
    client.on('connect', () => {
      this.events.onConnected();
      client.subscribe([this.leaseTopic, this.errorTopic], { qos: 1 });
      client.publish(topics.presence(id), ONLINE, { qos: 1, retain: true });
      client.publish(topics.up(id, 'hello'), HELLO, { qos: 1 });
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => this.events.onError(`mqtt: ${err.message}`));
    this.client = client;
  }

  renew(seq: number): void {
    this.client?.publish(topics.up(this.spec.gatewayId, 'renew'), JSON.stringify({ seq }), { qos: 1 });
  }

  ack(jti: string): void {
    this.client?.publish(topics.up(this.spec.gatewayId, 'ack'), JSON.stringify({ jti }), { qos: 1 });
  }

  async release(): Promise<void> {
    const c = this.client;
    if (!c) return;
    await c.publishAsync(topics.up(this.spec.gatewayId, 'release'), JSON.stringify({ reason: 'bench stop' }), { qos: 1 });
    await c.endAsync();
  }

  close(): void {
    this.client?.end(true);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === this.errorTopic) {
      const e = agentErrorMessage.safeParse(safeJson(payload));
      this.events.onError(e.success ? `controller: ${e.data.name}: ${e.data.detail}` : 'controller: malformed error');
      return;
    }
    if (topic !== this.leaseTopic || payload.length === 0) return;
    const m = leaseMessage.safeParse(safeJson(payload));
    if (!m.success) return this.events.onError('malformed lease message');
    this.events.onLease(m.data);
  }
}

function safeJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}
