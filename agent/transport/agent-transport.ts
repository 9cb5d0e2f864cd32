import type { AgentErrorMessage, HelloMessage, LeaseMessage } from '../../shared/protocol/agent-messages.js';
import type { TransportName } from '../config.js';

/** The controller refused a request (e.g. `license-expired`): the agent keeps its lease and retries later. */
export class ControllerProblem extends Error {
  constructor(readonly problem: AgentErrorMessage) {
    super(`${problem.name}: ${problem.detail}`);
    this.name = 'ControllerProblem';
  }
}

/** A request got no answer in time. */
export class TransportTimeout extends Error {
  constructor(transport: string, what: string, ms: number) {
    super(`${transport}: no answer to ${what} within ${ms} ms`);
    this.name = 'TransportTimeout';
  }
}

/** What a transport reports to the agent. */
export interface TransportHandlers {
  /** Every lease that arrives (pushed, retained, or as a reply); resolves whether it was accepted. */
  lease(grant: LeaseMessage, via: AgentTransport, meta?: { readonly retained: boolean }): Promise<boolean>;
  problem(problem: AgentErrorMessage, via: AgentTransport): void;
  /** Connected and ready to carry requests. */
  up(via: AgentTransport): void;
  down(via: AgentTransport): void;
  /** The broker or controller refused our credential at connect (it may also just be unavailable). */
  authRefused(via: AgentTransport): void;
  /** The controller asks for a hello again (its hello round at start, MQTT). */
  helloRequested?(via: AgentTransport): void;
}

/**
 * One way to talk to the controller (MQTT or Socket.IO). Requests resolve when the controller (or,
 * for MQTT's fire-and-forget messages, the broker) took them; leases always arrive via `handlers.lease`.
 */
export interface AgentTransport {
  readonly name: TransportName;
  /** Connects, and keeps reconnecting with capped, jittered backoff until `close`. May be called again after `close`. */
  start(): void;
  connected(): boolean;
  /** Announces the agent; a lease fresher than `lastSeq` (the highest the agent accepted) comes back. */
  hello(m: HelloMessage, lastSeq: number): Promise<void>;
  renew(lastSeq: number): Promise<void>;
  ack(jti: string): Promise<void>;
  usage(u: { tags: number; connections: number }): Promise<void>;
  release(reason?: string): Promise<void>;
  /**
   * The controller just answered over HTTP, so the network is back: if waiting out a reconnect
   * backoff, try now. An attempt already under way is left to finish.
   */
  retryNow(): void;
  /** Clean goodbye (MQTT marks presence offline first); stops reconnecting. */
  close(): Promise<void>;
}

export interface TransportIdentity {
  readonly gatewayId: string;
  readonly credential: string;
}

/** Builds the configured transports, in order of preference. */
export type TransportFactory = (identity: TransportIdentity, handlers: TransportHandlers) => AgentTransport[];
