import type { LeaseMessage } from '../../shared/protocol/agent-messages.js';

/** How a lease reached the agent; `reply` answers an acknowledged delivery (Socket.IO). */
type LeaseHandler = (grant: LeaseMessage, reply?: (accepted: boolean) => void) => void;

/** One agent's connection to the controller, whatever the transport. */
export interface AgentLink {
  /** Connects (and reconnects on its own); says hello after every (re)connect. */
  open(): void;
  renew(seq: number): void;
  ack(jti: string): void;
  /** A clean stop: release, wait until the controller has the message, then disconnect. */
  release(): Promise<void>;
  /** Drops the connection without a release (end of the run). */
  close(): void;
}

export interface LinkEvents {
  readonly onLease: LeaseHandler;
  readonly onError: (message: string) => void;
  readonly onConnected: () => void;
}
