import type { BackoffOptions } from '../shared/backoff.js';
import type { AgentErrorMessage, HelloMessage, LeaseMessage } from '../shared/protocol/agent-messages.js';
import type { ControllerClient } from './controller/controller-api.js';
import type { LeaseHolder } from './lease/lease-holder.js';
import type { Clock } from './lease/clock.js';
import type { LeasePipeline } from './lease/lease-pipeline.js';
import type { ReachabilityGrace } from './lease/reachability-grace.js';
import { RenewalScheduler } from './lease/renewal-scheduler.js';
import type { Logger } from './logger.js';
import { ControllerProblem, type AgentTransport, type TransportFactory, type TransportHandlers, type TransportIdentity } from './transport/agent-transport.js';
import { TransportSelector } from './transport/transport-selector.js';
import type { UsageSource } from './usage/usage-source.js';
import { sleep, withTimeout } from './util/timers.js';
import { AGENT_VERSION } from './version.js';

export interface ControllerLinkOptions {
  readonly identity: TransportIdentity;
  readonly holder: LeaseHolder;
  readonly pipeline: LeasePipeline;
  readonly controller: ControllerClient;
  readonly transports: TransportFactory;
  readonly usage: UsageSource;
  readonly logger: Logger;
  /** Told when the controller answered a lease request (reclaim on-disconnect). */
  readonly grace?: Pick<ReachabilityGrace, 'contact'>;
  readonly clock?: Pick<Clock, 'monotonicMs'>;
  readonly failoverAfterMs: number;
  readonly usageIntervalMs?: number;
  /**
   * An unchanged reading is sent again once the last report is this old (default 60 s), so the
   * controller's "usage reported N ago" says how fresh the figure is, not when it last changed.
   */
  readonly usageRefreshMs?: number;
  readonly renewalBackoff?: BackoffOptions;
  /** After each lease request, whatever its outcome. */
  readonly onAttempt?: () => void;
  /** A login was refused or the controller said `unauthorized`: the credential may be dead. */
  readonly onAuthRefused: () => void;
}

/**
 * One enrolled identity's conversation with the controller: the transports (one active at a time),
 * hello on each activation, renewals, usage reports, and the release. Requests go over the active
 * transport, or over HTTP when none is up (e.g. the broker is down and WebSocket is not configured).
 */
export class ControllerLink {
  private readonly selector: TransportSelector<AgentTransport>;
  private readonly scheduler: RenewalScheduler;
  private readonly transportCount: number;
  private helloDue: AgentTransport | undefined;
  private isReachable = false;
  private overHttp = false;
  private usageTimer: NodeJS.Timeout | undefined;
  private reportedUsage: string | undefined;
  private reportedUsageAtMs = 0;
  private closed = false;

  constructor(private readonly o: ControllerLinkOptions) {
    const { logger } = o;
    const handlers: TransportHandlers = {
      lease: (grant, via, meta) => this.onLease(grant, via, meta?.retained ?? false),
      problem: (p, via) => this.onProblem(p, via),
      up: (via) => this.selector.up(via),
      down: (via) => this.selector.down(via),
      authRefused: () => o.onAuthRefused(),
      // The controller's hello round: the active transport says hello again at once.
      helloRequested: (via) => {
        if (this.selector.active() !== via) return;
        this.helloDue = via;
        this.scheduler.requestNow();
      },
    };
    const transports = o.transports(o.identity, handlers);
    this.transportCount = transports.length;
    this.selector = new TransportSelector({
      transports,
      failoverAfterMs: o.failoverAfterMs,
      logger,
      onActivate: (t) => {
        this.helloDue = t;
        this.overHttp = false;
        // Socket.IO connects to the controller itself; MQTT only to its broker, so wait for an answer.
        if (t.name === 'ws') this.isReachable = true;
        logger.info({ transport: t.name }, 'connected to the controller');
        this.scheduler.requestNow();
      },
      onDeactivate: (t) => {
        if (this.helloDue === t) this.helloDue = undefined;
        this.isReachable = false;
        if (!this.closed) logger.info({ transport: t.name }, 'transport down');
      },
    });
    this.scheduler = new RenewalScheduler({
      holder: o.holder,
      request: () => this.requestLease(),
      backoff: o.renewalBackoff ?? { baseMs: 1_000, maxMs: 60_000 },
      onAttempt: ({ renewed, error, attempt, nextInMs }) => {
        if (!renewed) {
          const detail = { err: error, attempt, retryInMs: nextInMs, secondsLeft: o.holder.secondsLeft() };
          logger[attempt % 10 === 1 ? 'warn' : 'debug'](detail, 'no fresh lease yet; retrying');
        }
        o.onAttempt?.();
      },
    });
  }

  start(): void {
    this.selector.start();
    // Without a lease, give the transports time to connect before asking over HTTP.
    const { holder, failoverAfterMs } = this.o;
    this.scheduler.start(holder.current() ? holder.renewDueInMs() : failoverAfterMs * this.transportCount + 2_000);
    this.usageTimer = setInterval(() => void this.reportUsage(), this.o.usageIntervalMs ?? 30_000);
    this.usageTimer.unref();
  }

  /** A lease was accepted (by any route; `source` names it): renewal counts from it. */
  leaseAccepted(source: string): void {
    this.isReachable = true;
    this.scheduler.leaseAccepted();
    // A lease from the controller while no transport is up came over HTTP (a renewal, a borrow): the
    // network is back, yet a transport waiting out its backoff could take up to 30 s more, and the
    // controller pushes (allocation changes, its hello round) only to gateways online on one.
    if (source !== 'file' && !this.selector.active()) this.selector.retryNow();
  }

  /** Ask for a fresh lease now (e.g. half the disconnect grace passed without contact). */
  requestNow(): void {
    this.scheduler.requestNow();
  }

  reachable(): boolean {
    return this.isReachable;
  }

  transport(): string | undefined {
    return this.selector.active()?.name ?? (this.overHttp ? 'http' : undefined);
  }

  async reportUsage(): Promise<void> {
    const u = this.o.usage.current();
    if (!u || this.closed) return;
    const key = `${u.tags}/${u.connections}`;
    const now = this.o.clock?.monotonicMs() ?? performance.now();
    // Unchanged readings were never sent, so the console showed the time of the last change
    // ("reported 14 min ago" from an agent reading every 10 s): refresh them now and then.
    if (key === this.reportedUsage && now - this.reportedUsageAtMs < (this.o.usageRefreshMs ?? 60_000)) return;
    const t = this.selector.active();
    try {
      await (t ? t.usage(u) : this.o.controller.usage(this.o.identity.credential, u));
      this.reportedUsage = key;
      this.reportedUsageAtMs = now;
    } catch (err) {
      this.o.logger.debug({ err }, 'usage report failed; will retry');
    }
  }

  /**
   * Releases and waits, up to `timeoutMs`, for the controller itself to confirm: Socket.IO's reply
   * comes from the controller, but an MQTT publish is only acknowledged by the broker, so over MQTT
   * the release is also sent over HTTP, retried until the controller answers or time is up.
   * Returns the route the release went by once the controller confirmed it, or undefined (the caller logs that).
   */
  async release(timeoutMs: number): Promise<string | undefined> {
    this.scheduler.stop();
    const deadline = Date.now() + timeoutMs;
    const t = this.selector.active();
    const left = () => deadline - Date.now();
    const attempt = async (via: string, send: () => Promise<void>): Promise<boolean> => {
      try {
        await withTimeout(send(), Math.max(1, left()), () => new Error(`no answer within ${left()} ms`));
        return true;
      } catch (err) {
        this.o.logger.debug({ via, err }, 'release attempt failed');
        return false;
      }
    };
    if (t?.name === 'ws' && (await attempt('ws', () => t.release('shutdown')))) return 'ws';
    // Best effort: the controller may get it sooner through the broker; it does not count as confirmed.
    const sentOn = t && t.name !== 'ws' ? t.name : 'http';
    if (t && t.name !== 'ws') void attempt(t.name, () => t.release('shutdown'));
    for (let pause = 100; left() > 0; pause = Math.min(pause * 2, 1_000)) {
      // Reported as the route it was sent on; the HTTP answer is the controller's confirmation.
      if (await attempt('http', () => this.o.controller.release(this.o.identity.credential))) return sentOn;
      if (left() > 0) await sleep(Math.min(pause, left()));
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.scheduler.stop();
    clearInterval(this.usageTimer);
    this.isReachable = false;
    await this.selector.stop();
  }

  private async requestLease(): Promise<void> {
    const { holder, pipeline, controller, identity } = this.o;
    const t = this.selector.active();
    const lastSeq = holder.lastAcceptedSeq();
    const sentAt = this.o.clock?.monotonicMs() ?? performance.now();
    try {
      if (t && this.helloDue === t) {
        await t.hello(this.helloMessage(), lastSeq);
        // Only this transport's hello is done: a switch while it ran made the new one due (ghost offline).
        if (this.helloDue === t) this.helloDue = undefined;
      } else if (t) {
        await t.renew(lastSeq);
      } else {
        const grant = await controller.lease(identity.credential, holder.current() !== undefined);
        this.overHttp = true;
        await pipeline.deliver(grant, 'http', (jti) => controller.ack(identity.credential, jti));
      }
      this.isReachable = true;
      this.o.grace?.contact(sentAt);
    } catch (err) {
      // A problem is still an answer: the controller is there, it just would not grant.
      this.isReachable = err instanceof ControllerProblem;
      throw err;
    }
  }

  private helloMessage(): HelloMessage {
    const usage = this.o.usage.current();
    return {
      agentVersion: AGENT_VERSION,
      ...(usage ? { usage: { tags: usage.tags, connections: usage.connections } } : {}),
    };
  }

  private async onLease(grant: LeaseMessage, via: AgentTransport, retained: boolean): Promise<boolean> {
    if (this.closed) return false;
    const outcome = await this.o.pipeline.deliver(grant, via.name, (jti) => via.ack(jti), retained);
    return outcome.accepted || outcome.reason === 'duplicate';
  }

  private onProblem(p: AgentErrorMessage, via: AgentTransport): void {
    this.o.logger.warn({ transport: via.name, problem: p.name, detail: p.detail }, 'the controller could not serve a request; keeping the current lease');
    if (p.name === 'unauthorized') this.o.onAuthRefused();
  }
}
