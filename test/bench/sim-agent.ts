import { LeaseVerifier } from '../../agent/lease/lease-verifier.js';
import type { LeaseMessage } from '../../shared/protocol/agent-messages.js';
import type { AgentLink } from './agent-link.js';
import { preciseNow, type AgentSpec, type FleetEvent, type FleetWorkerConfig } from './fleet-messages.js';
import { MqttLink } from './mqtt-link.js';
import { WsLink } from './ws-link.js';

/**
 * A lightweight agent: verifies every lease against the controller's JWKS (signature, aud, iss,
 * sub, hwid, nbf/exp, seq), acknowledges it, and renews after a third of its lifetime.
 */
export class SimAgent {
  private readonly verifier: LeaseVerifier;
  private readonly link: AgentLink;
  private lastSeq = 0;
  private ackLeases = true;
  private renewTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private openedAt = 0;
  private firstLease: (() => void) | undefined;
  /** Leases are verified one at a time, so `seq` checks see the previous verdict. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly spec: AgentSpec,
    config: FleetWorkerConfig,
    private readonly emit: (e: FleetEvent) => void,
  ) {
    this.verifier = new LeaseVerifier({
      jwks: config.jwks,
      gatewayId: spec.gatewayId,
      hardwareId: spec.hardwareId,
      audience: config.audience,
      issuer: config.issuer,
      clock: { now: () => Date.now() },
    });
    const events = {
      onLease: (grant: LeaseMessage, reply?: (accepted: boolean) => void) => {
        this.chain = this.chain.then(() => this.onLease(grant, reply));
      },
      onError: (message: string) => this.emit({ kind: 'error', i: spec.i, message, at: preciseNow() }),
      onConnected: () => this.emit({ kind: 'connected', i: spec.i, at: preciseNow(), openedAt: this.openedAt }),
    };
    this.link = config.transport === 'mqtt' ? new MqttLink(config.mqttUrl, spec, config.keepaliveSec, events) : new WsLink(config.httpUrl, spec, events);
  }

  /** Connects; resolves at the first accepted lease or after `timeoutMs`, whichever comes first. */
  start(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.emit({ kind: 'error', i: this.spec.i, message: `no lease within ${timeoutMs} ms`, at: preciseNow() });
        resolve();
      }, timeoutMs);
      this.firstLease = () => {
        clearTimeout(timer);
        resolve();
      };
      this.openedAt = preciseNow();
      this.link.open();
    });
  }

  setAck(ack: boolean): void {
    this.ackLeases = ack;
  }

  async release(): Promise<void> {
    this.stop();
    await this.link.release();
    this.emit({ kind: 'released', i: this.spec.i, at: preciseNow() });
  }

  close(): void {
    this.stop();
    this.link.close();
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.renewTimer);
  }

  private async onLease(grant: LeaseMessage, reply?: (accepted: boolean) => void): Promise<void> {
    if (this.stopped) return reply?.(false);
    const verdict = await this.verifier.verify(grant.lease, this.lastSeq);
    const at = preciseNow();
    if (!verdict.ok) {
      reply?.(false);
      // A retained lease seen again after a reconnect is the normal "replayed" case.
      if (verdict.reason !== 'replayed') this.emit({ kind: 'refused', i: this.spec.i, reason: `${verdict.reason}: ${verdict.message}`, at });
      return;
    }
    const c = verdict.claims;
    this.lastSeq = c.seq;
    const acked = this.ackLeases;
    reply?.(true);
    if (acked) this.link.ack(c.jti);
    this.emit({ kind: 'lease', i: this.spec.i, seq: c.seq, tags: c.points.tags, connections: c.points.connections, ttl: c.ttl, exp: c.exp, at, acked });
    clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => this.link.renew(c.seq), (c.ttl * 1000) / 3);
    this.firstLease?.();
    this.firstLease = undefined;
  }
}
