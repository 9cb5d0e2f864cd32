import { io, type Socket } from 'socket.io-client';
import { leaseMessage, type LeaseMessage } from '../../shared/protocol/agent-messages.js';
import { AGENT_NAMESPACE, type AgentClientToServer, type AgentReply, type AgentServerToClient } from '../../shared/protocol/socket-events.js';
import type { AgentLink, LinkEvents } from './agent-link.js';
import type { AgentSpec } from './fleet-messages.js';

type AgentSocket = Socket<AgentServerToClient, AgentClientToServer>;

const REQUEST_TIMEOUT_MS = 30_000;

/** An agent on the Socket.IO namespace: credential in the handshake, every request acknowledged. */
export class WsLink implements AgentLink {
  private socket: AgentSocket | undefined;

  constructor(
    private readonly url: string,
    private readonly spec: AgentSpec,
    private readonly events: LinkEvents,
  ) {}

  open(): void {
    // forceNew: one WebSocket per agent, as real agents have, not one shared by the whole process.
    const socket: AgentSocket = io(`${this.url}${AGENT_NAMESPACE}`, {
      auth: { credential: this.spec.credential },
      transports: ['websocket'],
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 2_000,
      reconnectionDelayMax: 15_000,
      randomizationFactor: 0.5,
      timeout: REQUEST_TIMEOUT_MS,
    });
    socket.on('connect', () => {
      this.events.onConnected();
      socket
        .timeout(REQUEST_TIMEOUT_MS)
        .emitWithAck('hello', { agentVersion: 'floatlease-bench' })
        .then((r) => this.onReply(r))
        .catch((err: unknown) => this.events.onError(`hello: ${String(err)}`));
    });
    socket.on('lease', (grant, ack) => {
      const m = leaseMessage.safeParse(grant);
      if (!m.success) return ack({ accepted: false });
      this.events.onLease(m.data, (accepted) => ack({ accepted }));
    });
    socket.on('problem', (e) => this.events.onError(`controller: ${e.name}: ${e.detail}`));
    socket.on('connect_error', (err) => this.events.onError(`connect: ${err.message}`));
    this.socket = socket;
  }

  renew(seq: number): void {
    this.socket
      ?.timeout(REQUEST_TIMEOUT_MS)
      .emitWithAck('renew', { seq })
      .then((r) => this.onReply(r))
      .catch((err: unknown) => this.events.onError(`renew: ${String(err)}`));
  }

  ack(jti: string): void {
    this.socket
      ?.timeout(REQUEST_TIMEOUT_MS)
      .emitWithAck('ack', { jti })
      .catch((err: unknown) => this.events.onError(`ack: ${String(err)}`));
  }

  async release(): Promise<void> {
    const s = this.socket;
    if (!s) return;
    await s.timeout(REQUEST_TIMEOUT_MS).emitWithAck('release', { reason: 'bench stop' });
    s.close();
  }

  close(): void {
    this.socket?.close();
  }

  private onReply(r: AgentReply<LeaseMessage | null>): void {
    if (!r.ok) return this.events.onError(`controller: ${r.error.name}: ${r.error.detail}`);
    if (r.value) this.events.onLease(r.value);
  }
}
