import type { LeaseMessage, UpstreamPayload } from '../../shared/protocol/agent-messages.js';
import type { LicenseFileLoaded } from '../../shared/protocol/rest.js';
import type { Actor } from '../auth/actor.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import type { PresenceService } from './presence-service.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import { LANES } from '../db/connection-budget.js';

export type Transport = 'mqtt' | 'ws' | 'http';

/**
 * What any transport does with an agent's message. Transports parse and authenticate; this
 * decides. Each returns the value the agent should get back (a lease, an ack result, nothing).
 */
export class AgentHandler {
  private readonly inFlight: ConcurrencyLimit;
  private readonly logger: Pick<Logger, 'warn'> | undefined;

  /**
   * `maxInFlight` bounds the agent messages that each take a database connection of their own
   * (usage, release), every transport together; keep it plus the lease service's batch
   * lanes below the database pool size so the API and authentication always find a connection.
   * Presence, grants and acknowledgements skip this bound: the lease service batches them and bounds their
   * connections itself, and a bound here would keep its batches small.
   */
  constructor(
    private readonly s: Pick<Services, 'leases' | 'leaseEndings' | 'presence' | 'gateways' | 'licenseFiles'>,
    opts: { maxInFlight?: number; logger?: Pick<Logger, 'warn'> } = {},
  ) {
    this.inFlight = new ConcurrencyLimit(opts.maxInFlight ?? LANES.agentMessages);
    this.logger = opts.logger;
  }

  hello(gatewayId: string, m: UpstreamPayload<'hello'>, transport: Transport): Promise<LeaseMessage> {
    const { usage } = m;
    return this.s.presence
      .set(gatewayId, true, transport)
      .then(() => (usage ? this.inFlight.run(() => this.s.gateways.reportUsage(gatewayId, usage)) : undefined))
      .then(() => this.s.leases.grant(gatewayId, 'grant'));
  }

  /** A lease without a hello (HTTP pull): a grant, or a renewal of the one the agent holds. */
  lease(gatewayId: string, renewal: boolean, transport: Transport): Promise<LeaseMessage> {
    if (renewal) return this.renew(gatewayId, transport);
    this.seen(gatewayId, transport);
    return this.s.leases.grant(gatewayId, 'grant');
  }

  renew(gatewayId: string, transport: Transport): Promise<LeaseMessage> {
    this.seen(gatewayId, transport);
    return this.s.leases.grant(gatewayId, 'renewal');
  }

  /**
   * An offline borrow (issue 21) of the points the gateway holds. Over HTTP only: the person at the
   * device must hear the controller's own answer (granted, or off / too long / a cap) before the
   * gateway leaves the network, which an MQTT publish acknowledged by the broker cannot tell.
   */
  borrow(gatewayId: string, durationSec: number): Promise<LeaseMessage> {
    return this.s.leases.borrow(gatewayId, durationSec);
  }

  /** The early return of a borrow: an ordinary lease; the borrow ends when the agent acknowledges it. */
  returnBorrow(gatewayId: string): Promise<LeaseMessage> {
    return this.s.leases.grant(gatewayId, 'grant');
  }

  ack(gatewayId: string, m: UpstreamPayload<'ack'>, transport: Transport): Promise<{ acknowledged: boolean }> {
    this.seen(gatewayId, transport);
    return this.s.leases.acknowledge(gatewayId, m.jti);
  }

  usage(gatewayId: string, m: UpstreamPayload<'usage'>, transport: Transport): Promise<void> {
    this.seen(gatewayId, transport);
    return this.inFlight.run(() => this.s.gateways.reportUsage(gatewayId, m));
  }

  /**
   * Any message over a live transport shows the agent is there (ghost offline: a gateway renewing
   * over MQTT stayed offline when its hello got lost in a transport switch). HTTP pull is no live
   * transport: nothing would ever mark it offline again. Submitted before the message's own work,
   * so presence calls for one gateway keep the order the messages came in.
   */
  private seen(gatewayId: string, transport: Transport): void {
    if (transport === 'http') return;
    this.s.presence.seen(gatewayId, transport).catch((err: unknown) => this.logger?.warn({ err, gatewayId, transport }, 'could not mark a gateway online'));
  }

  /**
   * The agent loaded an offline license file (issue 17): audited once per file, whether reported
   * at the load or at the agent's next contact. Over HTTP only, whose answer tells the agent the
   * report was recorded (an MQTT publish is acknowledged by the broker, not the controller).
   */
  licenseFileLoaded(gatewayId: string, m: LicenseFileLoaded): Promise<{ recorded: boolean }> {
    return this.inFlight.run(() => this.s.licenseFiles.recordLoaded(gatewayId, m));
  }

  /** A clean stop: the points return at once and the gateway shows offline without waiting for a will. */
  release(gatewayId: string, poolId: string, transport: Transport): Promise<{ released: number }> {
    return this.inFlight.run(async () => {
      const actor: Actor = { kind: 'gateway', gatewayId, poolId };
      const result = await this.s.leaseEndings.release(gatewayId, actor);
      // HTTP pull holds no connection, so the row names the transport the agent was last live on; the
      // agent's own release over HTTP still means it stopped (null: whatever transport the row names).
      await this.s.presence.set(gatewayId, false, transport === 'http' ? null : transport);
      return result;
    });
  }

  /** Offline only if `stillGone` holds with the gateway row locked (see PresenceService.setOfflineIf). */
  offlineIf(gatewayId: string, transport: Transport, stillGone: Parameters<PresenceService['setOfflineIf']>[2]): Promise<void> {
    return this.s.presence.setOfflineIf(gatewayId, transport, stillGone);
  }

  presence(gatewayId: string, online: boolean, transport: Transport): Promise<void> {
    return this.s.presence.set(gatewayId, online, transport);
  }
}
