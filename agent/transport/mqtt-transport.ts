import mqtt, { type MqttClient } from 'mqtt';
import { backoffDelayMs, type BackoffOptions } from '../../shared/backoff.js';
import { agentErrorMessage, helloRequestMessage, leaseMessage, type HelloMessage, type LeaseMessage } from '../../shared/protocol/agent-messages.js';
import { agentClientId, topics } from '../../shared/protocol/mqtt-topics.js';
import type { Logger } from '../logger.js';
import { withTimeout } from '../util/timers.js';
import { ControllerProblem, TransportTimeout, type AgentTransport, type TransportHandlers, type TransportIdentity } from './agent-transport.js';
import { describeIssue, type IssueLike } from '../../shared/zod-issues.js';

export interface MqttTransportOptions {
  readonly url: string;
  readonly identity: TransportIdentity;
  readonly keepaliveSec: number;
  /** CAs to trust for mqtts:// and wss:// brokers (FLOATLEASE_CA_FILE plus the system CAs). */
  readonly ca?: readonly string[];
  readonly handlers: TransportHandlers;
  readonly logger: Logger;
  readonly requestTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
}

interface LeaseWaiter {
  readonly afterSeq: number;
  resolve(): void;
  reject(err: Error): void;
}

const ONLINE = '{"online":true}';
const OFFLINE = '{"online":false}';
const MAX_PAYLOAD = 16 * 1024;
/** CONNACK codes for a refused login: 3.1.1 (4, 5) and v5 (134, 135). */
const AUTH_REFUSED = new Set([4, 5, 134, 135]);

/**
 * The agent as an MQTT client of the controller's broker: username = gateway id, password =
 * credential, a retained last will marking it offline. Leases arrive retained on its lease topic,
 * so a reconnecting agent gets the latest at once; a request is answered by the next fresher lease
 * (or a message on its error topic).
 */
export class MqttTransport implements AgentTransport {
  readonly name = 'mqtt' as const;
  private client: MqttClient | undefined;
  private ready = false;
  /** Between a lost connection (or a failed attempt) and the next attempt: mqtt.js's reconnect timer runs. */
  private backingOff = false;
  private attempt = 0;
  private readonly waiters = new Set<LeaseWaiter>();
  private readonly timeoutMs: number;
  private readonly backoff: BackoffOptions;

  constructor(private readonly o: MqttTransportOptions) {
    this.timeoutMs = o.requestTimeoutMs ?? 10_000;
    this.backoff = o.backoff ?? { baseMs: 1_000, maxMs: 30_000 };
  }

  start(): void {
    if (this.client) return;
    const gw = this.o.identity.gatewayId;
    const client = mqtt.connect(this.o.url, {
      clientId: agentClientId(gw),
      username: gw,
      password: this.o.identity.credential,
      protocolVersion: 4,
      clean: true,
      keepalive: this.o.keepaliveSec,
      connectTimeout: 10_000,
      reconnectPeriod: this.backoff.baseMs,
      reconnectOnConnackError: true,
      will: { topic: topics.presence(gw), payload: Buffer.from(OFFLINE), qos: 1, retain: true },
      ...(this.o.ca ? { ca: [...this.o.ca] } : {}),
    });
    this.client = client;
    client.on('connect', () => {
      this.backingOff = false;
      this.attempt = 0;
      client.options.reconnectPeriod = this.backoff.baseMs;
      void this.subscribe(client);
    });
    // mqtt.js retries at a fixed period; stretch it between attempts (capped, jittered).
    client.on('reconnect', () => {
      this.backingOff = false;
      this.attempt += 1;
      client.options.reconnectPeriod = backoffDelayMs(this.attempt, this.backoff);
    });
    client.on('close', () => {
      // mqtt.js arms its reconnect timer on every close, of a session or of a failed attempt.
      if (client === this.client) this.backingOff = true;
      this.lost(client);
    });
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number' && AUTH_REFUSED.has(code)) this.o.handlers.authRefused(this);
      else this.o.logger.debug({ err }, 'mqtt client error');
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
  }

  connected(): boolean {
    return this.ready && this.client?.connected === true;
  }

  async hello(m: HelloMessage, lastSeq: number): Promise<void> {
    const c = this.connectedClient();
    const gw = this.o.identity.gatewayId;
    await this.request('hello', lastSeq, async () => {
      await c.publishAsync(topics.presence(gw), ONLINE, { qos: 1, retain: true });
      await c.publishAsync(topics.up(gw, 'hello'), JSON.stringify(m), { qos: 1 });
    });
  }

  async renew(seq: number): Promise<void> {
    const c = this.connectedClient();
    await this.request('renew', seq, () => c.publishAsync(topics.up(this.o.identity.gatewayId, 'renew'), JSON.stringify({ seq }), { qos: 1 }));
  }

  ack(jti: string): Promise<void> {
    return this.publish('ack', { jti });
  }

  usage(u: { tags: number; connections: number }): Promise<void> {
    return this.publish('usage', { tags: u.tags, connections: u.connections });
  }

  /** The broker's PUBACK is the acknowledgement: MQTT has no reply from the controller itself. */
  release(reason?: string): Promise<void> {
    return this.publish('release', reason ? { reason } : {});
  }

  retryNow(): void {
    const c = this.client;
    if (!c || c.connected || !this.backingOff) return;
    // After a long outage the wait can be up to the backoff's cap (30 s), and pushes only reach an
    // online gateway. reconnect() clears the timer and connects; its 'reconnect' event counts it.
    // (It also replaces the message stores, which hold nothing: nothing is published while down.)
    this.backingOff = false;
    this.o.logger.debug({ transport: this.name }, 'the controller answered over HTTP; reconnecting now');
    c.reconnect();
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.ready = false;
    this.failWaiters(new Error('mqtt transport closed'));
    if (!c) return;
    if (c.connected) {
      // A clean DISCONNECT suppresses the will, so say "offline" ourselves.
      await withTimeout(c.publishAsync(topics.presence(this.o.identity.gatewayId), OFFLINE, { qos: 1, retain: true }), 1_000, () => new Error('timeout')).catch(() => undefined);
    }
    await withTimeout(c.endAsync(false), 1_000, () => new Error('timeout')).catch(() => c.endAsync(true).catch(() => undefined));
  }

  private connectedClient(): MqttClient {
    const c = this.client;
    if (!c || !this.connected()) throw new Error('mqtt is not connected');
    return c;
  }

  private async publish(kind: 'ack' | 'usage' | 'release', body: object): Promise<void> {
    const c = this.connectedClient();
    const p = c.publishAsync(topics.up(this.o.identity.gatewayId, kind), JSON.stringify(body), { qos: 1 });
    await withTimeout(p, this.timeoutMs, () => new TransportTimeout('mqtt', kind, this.timeoutMs));
  }

  /** Sends, then waits for a lease fresher than `afterSeq` or a problem on the error topic. */
  private async request(what: string, afterSeq: number, send: () => Promise<unknown>): Promise<void> {
    let waiter!: LeaseWaiter;
    const answered = new Promise<void>((resolve, reject) => {
      waiter = { afterSeq, resolve, reject };
      this.waiters.add(waiter);
    });
    // The connection can drop (rejecting `answered`) while `send` still waits for its PUBACK, before
    // anything awaits `answered`: an unhandled rejection would end the agent. Whichever settles
    // first decides the request.
    answered.catch(() => undefined);
    try {
      await withTimeout(
        Promise.race([send().then(() => answered), answered]),
        this.timeoutMs,
        () => new TransportTimeout('mqtt', what, this.timeoutMs),
      );
    } finally {
      this.waiters.delete(waiter);
    }
  }

  private async subscribe(client: MqttClient): Promise<void> {
    const gw = this.o.identity.gatewayId;
    try {
      const granted = await client.subscribeAsync([topics.lease(gw), topics.error(gw), topics.helloRequest(gw)], { qos: 1 });
      if (granted.some((g) => g.qos === 128)) throw new Error('the broker refused the subscription');
      if (client !== this.client || !client.connected || this.ready) return;
      this.ready = true;
      this.o.handlers.up(this);
    } catch (err) {
      this.o.logger.warn({ err }, 'cannot subscribe to the lease topic; reconnecting');
      client.stream.destroy();
    }
  }

  private lost(client: MqttClient): void {
    if (client !== this.client || !this.ready) return;
    this.ready = false;
    this.failWaiters(new Error('mqtt connection lost'));
    this.o.handlers.down(this);
  }

  private failWaiters(err: Error): void {
    for (const w of this.waiters) w.reject(err);
    this.waiters.clear();
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const gw = this.o.identity.gatewayId;
    const isLease = topic === topics.lease(gw);
    if (topic === topics.helloRequest(gw)) return this.helloRequested(payload);
    if (!isLease && topic !== topics.error(gw)) return;
    if (payload.length === 0) return; // a cleared retained message
    let body: unknown;
    try {
      if (payload.length > MAX_PAYLOAD) throw new Error(`payload of ${payload.length} bytes is too large`);
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      // `reason` is the one-line cause every dropped message logs (as the schema failures do); err keeps the stack.
      this.o.logger.warn({ topic, reason: err instanceof Error ? err.message : String(err), err }, 'dropped malformed MQTT message');
      return;
    }
    if (isLease) {
      const m = leaseMessage.safeParse(body);
      if (!m.success) return this.drop(topic, m.error.issues[0]);
      this.leaseArrived(m.data, retained);
      return;
    }
    const e = agentErrorMessage.safeParse(body);
    if (!e.success) return this.drop(topic, e.error.issues[0]);
    for (const w of this.waiters) w.reject(new ControllerProblem(e.data));
    this.waiters.clear();
    this.o.handlers.problem(e.data, this);
  }

  /** The controller's hello round: only a well-formed request counts (nothing else is in it). */
  private helloRequested(payload: Buffer): void {
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.o.logger.warn({ reason: (err as Error).message }, 'dropped malformed hello request');
      return;
    }
    const m = helloRequestMessage.safeParse(body);
    if (!m.success) return this.drop(topics.helloRequest(this.o.identity.gatewayId), m.error.issues[0]);
    this.o.handlers.helloRequested?.(this);
  }

  /** Waiters are answered after the agent has handled the lease, so they see its outcome. */
  private leaseArrived(grant: LeaseMessage, retained: boolean): void {
    const answered = [...this.waiters].filter((w) => grant.seq > w.afterSeq);
    for (const w of answered) this.waiters.delete(w);
    void this.o.handlers
      .lease(grant, this, { retained })
      .catch((err: unknown) => this.o.logger.warn({ err }, 'lease handling failed'))
      .finally(() => answered.forEach((w) => w.resolve()));
  }

  private drop(topic: string, issue: IssueLike | undefined): void {
    this.o.logger.warn({ topic, reason: describeIssue(issue) }, 'dropped invalid MQTT message');
  }
}
