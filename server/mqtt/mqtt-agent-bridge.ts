import { agentErrorMessage, presenceMessage, upstreamSchemas, type AgentErrorMessage } from '../../shared/protocol/agent-messages.js';
import { parseTopic, shared, topics } from '../../shared/protocol/mqtt-topics.js';
import type { LeaseGrant } from '../../shared/protocol/rest.js';
import { AppError } from '../errors/app-error.js';
import type { Db } from '../db/database.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import type { AgentHandler } from '../leases/agent-handler.js';
import type { LeaseDelivery } from '../leases/lease-pusher.js';
import type { Logger } from '../logger.js';
import { MalformedInput } from '../leases/malformed-input.js';
import type { BrokerLink } from './broker-link.js';
import { describeIssue } from '../../shared/zod-issues.js';

export interface MqttBridgeOptions {
  /** `$share/…` subscriptions so several controllers split the agents' messages (not for aedes). */
  readonly sharedSubscriptions: boolean;
  /** Called when a gateway's presence changes on this transport (for metrics). */
  readonly onPresence?: (gatewayId: string, online: boolean) => void;
  /**
   * How long an "offline" (usually a last will) waits for an "online" of the same gateway before
   * it counts. An external broker publishes the old session's will when the same gateway's new
   * connection takes it over; without this the gateway would flap offline and lose its lease.
   * The embedded broker suppresses those wills itself (0).
   */
  readonly offlineGraceMs?: number;
  /** Bounded logging and a metric for malformed messages (default: log each, uncounted). */
  readonly malformed?: MalformedInput;
}

const MAX_PAYLOAD = 16 * 1024;

/**
 * The controller's side of the MQTT protocol: consumes agents' messages, answers with leases
 * published retained on the gateway's lease topic, and follows presence (incl. last wills).
 */
export class MqttAgentBridge implements LeaseDelivery {
  readonly name = 'mqtt';

  private readonly pendingOffline = new Map<string, NodeJS.Timeout>();
  private readonly malformed: MalformedInput;

  constructor(
    private readonly link: BrokerLink,
    private readonly db: Db,
    private readonly handler: AgentHandler,
    private readonly logger: Logger,
    private readonly opts: MqttBridgeOptions,
  ) {
    this.malformed = opts.malformed ?? new MalformedInput(logger);
  }

  start(): void {
    // Presence is never shared: a shared subscription gets no retained messages, and the retained
    // presence (wills that fired while this controller was away) is how it learns who is there.
    // Every replica handling every presence message is harmless: each change applies once.
    const filters = [this.opts.sharedSubscriptions ? shared(topics.allUp) : topics.allUp, topics.allPresence];
    this.link.subscribe(filters, (err) => this.logger.warn({ err: err.message }, 'mqtt subscribe failed; will retry on reconnect'));
    this.link.onMessage((topic, payload) => {
      void this.onMessage(topic, payload);
    });
  }

  async deliver(gatewayId: string, grant: LeaseGrant): Promise<boolean> {
    if (!this.link.isConnected()) return false;
    await this.link.publish(topics.lease(gatewayId), JSON.stringify(grant), { qos: 1, retain: true });
    return true;
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseTopic(topic);
    if (!parsed) return;
    const { gatewayId } = parsed;
    let body: unknown;
    try {
      if (payload.length > MAX_PAYLOAD) throw new Error(`payload of ${payload.length} bytes is too large`);
      body = payload.length === 0 ? undefined : JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.malformed.report('mqtt', gatewayId, { topic, reason: (err as Error).message }, 'dropped malformed MQTT message');
      return;
    }
    try {
      if (parsed.kind === 'presence') {
        // An empty retained payload clears the topic; nothing to do.
        if (body === undefined) return;
        const p = presenceMessage.safeParse(body);
        if (!p.success) return this.drop(gatewayId, topic, describeIssue(p.error.issues[0]));
        const pending = this.pendingOffline.get(gatewayId);
        if (pending) {
          clearTimeout(pending);
          this.pendingOffline.delete(gatewayId);
          // The gateway came back within the grace: the offline never happened.
          if (p.data.online) return;
        }
        const grace = this.opts.offlineGraceMs ?? 0;
        if (!p.data.online && grace > 0) {
          const timer = setTimeout(() => {
            this.pendingOffline.delete(gatewayId);
            void this.applyPresence(gatewayId, false);
          }, grace);
          timer.unref();
          this.pendingOffline.set(gatewayId, timer);
          return;
        }
        await this.applyPresence(gatewayId, p.data.online);
        return;
      }
      const schema = upstreamSchemas[parsed.message];
      const m = schema.safeParse(body ?? {});
      if (!m.success) return this.drop(gatewayId, topic, describeIssue(m.error.issues[0]));
      await this.dispatch(gatewayId, parsed.message, m.data);
    } catch (err) {
      if (err instanceof AppError) return this.sendError(gatewayId, { name: err.problem, detail: err.message });
      this.logger.warn({ err, gatewayId, topic }, 'failed to handle an agent message');
    }
  }

  private async applyPresence(gatewayId: string, online: boolean): Promise<void> {
    try {
      await this.handler.presence(gatewayId, online, 'mqtt');
      this.opts.onPresence?.(gatewayId, online);
    } catch (err) {
      this.logger.warn({ err, gatewayId }, 'failed to record presence');
    }
  }

  private async dispatch(gatewayId: string, kind: keyof typeof upstreamSchemas, data: unknown): Promise<void> {
    switch (kind) {
      case 'hello': {
        const grant = await this.handler.hello(gatewayId, upstreamSchemas.hello.parse(data), 'mqtt');
        await this.deliver(gatewayId, grant);
        return;
      }
      case 'renew':
        await this.deliver(gatewayId, await this.handler.renew(gatewayId, 'mqtt'));
        return;
      case 'ack':
        await this.handler.ack(gatewayId, upstreamSchemas.ack.parse(data), 'mqtt');
        return;
      case 'usage':
        await this.handler.usage(gatewayId, upstreamSchemas.usage.parse(data), 'mqtt');
        return;
      case 'release': {
        const g = await gatewayStore.get(this.db, gatewayId);
        if (g) await this.handler.release(gatewayId, g.poolId, 'mqtt');
        return;
      }
    }
  }

  private drop(gatewayId: string, topic: string, reason: string | undefined): void {
    this.malformed.report('mqtt', gatewayId, { topic, reason }, 'dropped invalid MQTT message');
  }

  private sendError(gatewayId: string, e: AgentErrorMessage): void {
    const msg = agentErrorMessage.parse({ name: e.name, detail: e.detail.slice(0, 1000) });
    this.link.publish(topics.error(gatewayId), JSON.stringify(msg), { qos: 1, retain: false }).catch((err: unknown) => this.logger.debug({ err, gatewayId }, 'could not send an error to the agent'));
  }
}
