import mqtt, { type MqttClient } from 'mqtt';
import { agentClientId, topics } from '../../../shared/protocol/mqtt-topics.js';

export interface LeasePoints {
  readonly seq: number;
  readonly points: { tags: number; connections: number };
  readonly plugins: string[];
}

/**
 * A bare MQTT agent for a gateway: presence, hello, and every lease it is pushed, decoded.
 * It does not verify signatures (the transports suite does); it stands in for the agent here.
 */
export class RawMqttAgent {
  readonly leases: LeasePoints[] = [];
  private constructor(
    readonly gatewayId: string,
    private readonly client: MqttClient,
  ) {
    client.on('message', (topic, payload) => {
      if (topic !== topics.lease(gatewayId)) return;
      const m = JSON.parse(payload.toString()) as { lease: string; seq: number };
      const claims = JSON.parse(Buffer.from(m.lease.split('.')[1]!, 'base64url').toString()) as Omit<LeasePoints, 'seq'>;
      this.leases.push({ seq: m.seq, points: claims.points, plugins: claims.plugins });
    });
  }

  static async connect(mqttUrl: string, gatewayId: string, credential: string): Promise<RawMqttAgent> {
    const client = await mqtt.connectAsync(mqttUrl, {
      username: gatewayId,
      password: credential,
      clientId: agentClientId(gatewayId),
      reconnectPeriod: 0,
      keepalive: 2,
      will: { topic: topics.presence(gatewayId), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    const agent = new RawMqttAgent(gatewayId, client);
    await client.subscribeAsync([topics.lease(gatewayId), topics.error(gatewayId)], { qos: 1 });
    await client.publishAsync(topics.presence(gatewayId), '{"online":true}', { qos: 1, retain: true });
    await client.publishAsync(topics.up(gatewayId, 'hello'), JSON.stringify({ agentVersion: 'console-e2e', usage: { tags: 12, connections: 2 } }), { qos: 1 });
    return agent;
  }

  get latest(): LeasePoints | undefined {
    return this.leases.at(-1);
  }

  /** A cut cable: no DISCONNECT; the broker publishes the last will after 1.5 × keepalive. */
  kill(): void {
    this.client.stream.destroy();
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}
