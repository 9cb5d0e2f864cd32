import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { backoffDelayMs } from '../../shared/backoff.js';
import type { Logger } from '../logger.js';

export interface MqttConnection {
  readonly client: MqttClient;
  isConnected(): boolean;
  close(): Promise<void>;
}

const BACKOFF = { baseMs: 500, maxMs: 15_000 };

/**
 * The controller is an ordinary client of the broker (embedded or external). mqtt.js reconnects
 * at a fixed period; we stretch that period with capped, jittered backoff between attempts.
 */
export function connectMqtt(opts: {
  url: string;
  username: string | undefined;
  password: string | undefined;
  clientId: string;
  /**
   * Keep the session (subscriptions and queued QoS 1 messages) this long after a disconnect (MQTT 5
   * session expiry). With a stable client id per replica, a replica that returns (restart, SIGSTOP,
   * network partition) gets what the broker queued for it; 0 = clean session.
   */
  sessionExpirySec?: number;
  logger: Logger;
}): MqttConnection {
  const { logger } = opts;
  const persistent = (opts.sessionExpirySec ?? 0) > 0;
  const options: IClientOptions = {
    clientId: opts.clientId,
    // MQTT 5 only for a persistent session (replicas, REPLICA_ID): session expiry is a v5 property.
    // Otherwise 3.1.1, which every broker speaks (aedes does not speak 5).
    protocolVersion: persistent ? 5 : 4,
    clean: !persistent,
    ...(persistent ? { properties: { sessionExpiryInterval: opts.sessionExpirySec } } : {}),
    keepalive: 30,
    connectTimeout: 10_000,
    reconnectPeriod: BACKOFF.baseMs,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
  };
  const client = mqtt.connect(opts.url, options);
  let attempt = 0;
  let wasConnected = false;
  client.on('connect', () => {
    attempt = 0;
    client.options.reconnectPeriod = BACKOFF.baseMs;
    if (!wasConnected) logger.info({ url: redactUrl(opts.url) }, 'connected to MQTT broker');
    wasConnected = true;
  });
  client.on('reconnect', () => {
    attempt += 1;
    client.options.reconnectPeriod = backoffDelayMs(attempt, BACKOFF);
  });
  client.on('offline', () => {
    if (wasConnected) logger.warn({ url: redactUrl(opts.url) }, 'MQTT broker unreachable; reconnecting');
    wasConnected = false;
  });
  client.on('error', (err) => logger.debug({ err: err.message }, 'mqtt client error'));
  return {
    client,
    isConnected: () => client.connected,
    /**
     * A clean stop ends the session (session expiry 0 on DISCONNECT): the broker stops queueing this
     * replica's share of the agents' messages and hands it to the replicas still running.
     */
    async close() {
      await new Promise<void>((resolve) => (persistent ? client.end(true, { reasonCode: 0, properties: { sessionExpiryInterval: 0 } }, () => resolve()) : client.end(true, {}, () => resolve())));
    },
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
