import type { Namespace, Server, Socket } from 'socket.io';
import { ackMessage, helloMessage, releaseMessage, renewMessage, usageMessage } from '../../shared/protocol/agent-messages.js';
import type { LeaseGrant } from '../../shared/protocol/rest.js';
import {
  AGENT_NAMESPACE,
  gatewayRoom,
  type AgentClientToServer,
  type AgentReply,
  type AgentServerToClient,
} from '../../shared/protocol/socket-events.js';
import type { GatewayAuthenticator } from '../auth/gateway-authenticator.js';
import type { Db } from '../db/database.js';
import { AppError } from '../errors/app-error.js';
import type { AgentHandler } from '../leases/agent-handler.js';
import type { LeaseDelivery } from '../leases/lease-pusher.js';
import type { Logger } from '../logger.js';
import type { z } from 'zod';

interface SocketData {
  gatewayId: string;
  poolId: string;
}

type AgentSocket = Socket<AgentClientToServer, AgentServerToClient, Record<string, never>, SocketData>;
type AgentNamespace = Namespace<AgentClientToServer, AgentServerToClient, Record<string, never>, SocketData>;

const ACK_TIMEOUT_MS = 5_000;

/**
 * Agents on WebSocket: authenticated in the handshake by their gateway credential, one room per
 * gateway, every request acknowledged with an AgentReply, leases delivered with an acknowledgement.
 */
export class AgentNamespaceGateway implements LeaseDelivery {
  readonly name = 'ws';
  private readonly nsp: AgentNamespace;
  private closing = false;

  constructor(
    io: Server,
    private readonly db: Db,
    private readonly gateways: GatewayAuthenticator,
    private readonly handler: AgentHandler,
    private readonly logger: Logger,
    private readonly onPresence?: (gatewayId: string, online: boolean) => void,
  ) {
    this.nsp = io.of(AGENT_NAMESPACE) as AgentNamespace;
    this.nsp.use((socket, next) => {
      const credential = (socket.handshake.auth as { credential?: unknown }).credential;
      if (typeof credential !== 'string') return next(Object.assign(new Error('unauthorized'), { data: { code: 401 } }));
      this.gateways
        .authenticate(credential)
        .then((actor) => {
          if (!actor) return next(Object.assign(new Error('unauthorized'), { data: { code: 401 } }));
          socket.data.gatewayId = actor.gatewayId;
          socket.data.poolId = actor.poolId;
          next();
        })
        .catch(() => next(Object.assign(new Error('unavailable'), { data: { code: 503 } })));
    });
    this.nsp.on('connection', (socket) => this.onConnection(socket));
  }

  /** Disconnects every agent without marking it offline: it reconnects to this or another replica. */
  async close(): Promise<void> {
    this.closing = true;
    this.nsp.disconnectSockets(true);
  }

  connectedCount(): number {
    return this.nsp.sockets.size;
  }

  async deliver(gatewayId: string, grant: LeaseGrant): Promise<boolean> {
    const sockets = await this.nsp.in(gatewayRoom(gatewayId)).fetchSockets();
    if (sockets.length === 0) return false;
    const replies = await this.nsp
      .to(gatewayRoom(gatewayId))
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('lease', grant)
      .catch(() => [] as { accepted: boolean }[]);
    return replies.some((r) => r.accepted);
  }

  private onConnection(socket: AgentSocket): void {
    const { gatewayId, poolId } = socket.data;
    void socket.join(gatewayRoom(gatewayId));
    void this.handler.presence(gatewayId, true, 'ws').then(() => this.onPresence?.(gatewayId, true)).catch(() => undefined);
    socket.on('hello', (m, ack) => this.answer(socket, 'hello', helloMessage, m, ack, (v) => this.handler.hello(gatewayId, v, 'ws')));
    socket.on('renew', (m, ack) => this.answer(socket, 'renew', renewMessage, m, ack, () => this.handler.renew(gatewayId, 'ws')));
    socket.on('ack', (m, ack) => this.answer(socket, 'ack', ackMessage, m, ack, (v) => this.handler.ack(gatewayId, v, 'ws')));
    socket.on('usage', (m, ack) => this.answer(socket, 'usage', usageMessage, m, ack, async (v) => (await this.handler.usage(gatewayId, v, 'ws'), null)));
    socket.on('release', (m, ack) => this.answer(socket, 'release', releaseMessage, m, ack, () => this.handler.release(gatewayId, poolId, 'ws')));
    socket.on('disconnect', () => {
      if (this.closing) return;
      void this.nsp
        .in(gatewayRoom(gatewayId))
        .fetchSockets()
        .then(async (left) => {
          if (left.length > 0) return;
          await this.handler.presence(gatewayId, false, 'ws');
          this.onPresence?.(gatewayId, false);
        })
        .catch((err: unknown) => this.logger.debug({ err, gatewayId }, 'presence update failed'));
    });
  }

  /** Validates, runs, and always answers: a malformed message gets a problem, never a crash. */
  private answer<S extends z.ZodType, T>(
    socket: AgentSocket,
    event: string,
    schema: S,
    raw: unknown,
    ack: unknown,
    run: (v: z.output<S>) => Promise<T>,
  ): void {
    const reply = typeof ack === 'function' ? (ack as (r: AgentReply<T>) => void) : () => {};
    const parsed = schema.safeParse(raw ?? {});
    if (!parsed.success) {
      this.logger.warn({ gatewayId: socket.data.gatewayId, event, reason: parsed.error.issues[0]?.message }, 'dropped invalid agent message');
      return reply({ ok: false, error: { name: 'validation-failed', detail: parsed.error.issues[0]?.message ?? 'invalid message' } });
    }
    run(parsed.data)
      .then((value) => reply({ ok: true, value }))
      .catch((err: unknown) => {
        if (err instanceof AppError) return reply({ ok: false, error: { name: err.problem, detail: err.message.slice(0, 1000) } });
        this.logger.warn({ err, gatewayId: socket.data.gatewayId, event }, 'failed to handle an agent message');
        reply({ ok: false, error: { name: 'internal', detail: 'the controller could not handle the request' } });
      });
  }
}
