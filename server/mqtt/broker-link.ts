import type { Aedes, AedesPublishPacket } from 'aedes';
import type { MqttClient } from 'mqtt';

/**
 * What the controller's MQTT side needs from a broker: subscribe to agents' topics, receive their
 * messages, publish leases and errors. Over the network for an external broker (an mqtt.js client);
 * in process for the embedded aedes, which skips a loopback connection, its packet encoding and
 * parsing in both directions, and the QoS 1 handshakes between controller and broker.
 */
export interface BrokerLink {
  isConnected(): boolean;
  /** Subscribes now if connected and again after every reconnect. */
  subscribe(filters: readonly string[], onError: (err: Error) => void): void;
  onMessage(handler: (topic: string, payload: Buffer) => void): void;
  /** Resolves once the broker has taken the message (QoS 1: acknowledged). */
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
}

export function clientLink(client: MqttClient): BrokerLink {
  return {
    isConnected: () => client.connected,
    subscribe(filters, onError) {
      const subscribe = () =>
        client.subscribe([...filters], { qos: 1 }, (err) => {
          if (err) onError(err);
        });
      client.on('connect', subscribe);
      if (client.connected) subscribe();
    },
    onMessage: (handler) => void client.on('message', handler),
    async publish(topic, payload, opts) {
      await client.publishAsync(topic, payload, opts);
    },
  };
}

/** The embedded broker, in process. `closed` is aedes' own flag. */
export function inProcessLink(broker: Aedes): BrokerLink {
  const handlers: ((topic: string, payload: Buffer) => void)[] = [];
  return {
    isConnected: () => !broker.closed,
    subscribe(filters, onError) {
      for (const filter of filters) {
        broker.subscribe(
          filter,
          (packet: AedesPublishPacket, done: () => void) => {
            const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
            for (const h of handlers) h(packet.topic, payload);
            // Release aedes' emitter without waiting for the handlers (the database would stall every
            // client's messages), but not from inside this call: the emitter starts its next queued
            // message from `done`, so a queue of messages that all finish synchronously would drain
            // as one ever deeper stack (a 10,000-agent renewal burst overflowed it). aedes defers its
            // own deliveries to clients the same way.
            setImmediate(done);
          },
          () => undefined,
        );
      }
      void onError;
    },
    onMessage: (handler) => void handlers.push(handler),
    publish(topic, payload, opts) {
      return new Promise((resolve, reject) => {
        broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: opts.qos, retain: opts.retain, dup: false }, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
