import type { AgentErrorMessage, HelloMessage, LeaseMessage } from './agent-messages.js';

/** Socket.IO namespace for agents; one room per gateway. */
export const AGENT_NAMESPACE = '/agent';
export const gatewayRoom = (gatewayId: string) => `gw:${gatewayId}`;

/** Every reply an agent gets to a request: the lease (or nothing) or a problem. */
export type AgentReply<T> = { ok: true; value: T } | { ok: false; error: AgentErrorMessage };

/** Events the controller emits to an agent (acknowledged). */
export interface AgentServerToClient {
  lease: (lease: LeaseMessage, ack: (r: { accepted: boolean }) => void) => void;
  problem: (e: AgentErrorMessage) => void;
}

/** Events an agent emits to the controller, each acknowledged with an AgentReply. */
export interface AgentClientToServer {
  hello: (m: HelloMessage, ack: (r: AgentReply<LeaseMessage | null>) => void) => void;
  renew: (m: { seq?: number }, ack: (r: AgentReply<LeaseMessage>) => void) => void;
  ack: (m: { jti: string }, ack: (r: AgentReply<{ acknowledged: boolean }>) => void) => void;
  usage: (m: { tags: number; connections: number }, ack: (r: AgentReply<null>) => void) => void;
  release: (m: { reason?: string }, ack: (r: AgentReply<{ released: number }>) => void) => void;
}

