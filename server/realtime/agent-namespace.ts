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
import { limitedLogin, type FailureCounter } from '../http/rate-limits.js';
import type { GatewayAuthenticator } from '../auth/gateway-authenticator.js';
import { AppError } from '../errors/app-error.js';
import type { AgentHandler } from '../leases/agent-handler.js';
import { MalformedInput } from '../leases/malformed-input.js';
import type { LeaseDelivery } from '../leases/lease-pusher.js';
import type { Logger } from '../logger.js';
import { socketHeldAnywhere, type AgentSocketStore } from '../replicas/agent-socket-store.js';
import type { z } from 'zod';
import { describeIssue } from '../../shared/zod-issues.js';

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
  /** Per gateway, its connects and disconnects on this replica run in the order they happened. */
  private readonly chains = new Map<string, Promise<void>>();

  /** Failed handshakes per address (shared with the MQTT broker's logins). */
  loginFailures: FailureCounter | undefined;
  /** Bounded logging and a metric for malformed messages; replaced by the composition root. */
  malformed: MalformedInput;

  constructor(
    io: Server,
    private readonly gateways: GatewayAuthenticator,
    private readonly handler: AgentHandler,
    private readonly logger: Logger,
    private readonly sockets: AgentSocketStore,
    private readonly onPresence?: (gatewayId: string, online: boolean) => void,
  ) {
    this.malformed = new MalformedInput(logger);
    this.nsp = io.of(AGENT_NAMESPACE) as AgentNamespace;
    this.nsp.use((socket, next) => {
      const credential = (socket.handshake.auth as { credential?: unknown }).credential;
      limitedLogin(this.loginFailures, socket.handshake.address, () =>
        typeof credential === 'string' ? this.gateways.authenticate(credential) : Promise.resolve(undefined),
      )
        .then((actor) => {
          if (!actor) return next(Object.assign(new Error('unauthorized'), { data: { code: 401 } }));
          socket.data.gatewayId = actor.gatewayId;
          socket.data.poolId = actor.poolId;
          next();
        })
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'could not authenticate an agent socket');
          next(Object.assign(new Error('unavailable'), { data: { code: 503 } }));
        });
    });
    this.nsp.on('connection', (socket) => this.onConnection(socket));
  }

  /** Disconnects every agent without marking it offline: it reconnects to this or another replica. */
  async close(): Promise<void> {
    this.closing = true;
    this.nsp.disconnectSockets(true);
  }

  /** Ends a decommissioned gateway's sockets on this replica now. */
  disconnectGateway(gatewayId: string): void {
    this.nsp.in(gatewayRoom(gatewayId)).disconnectSockets(true);
  }

  /** This replica's own agent sockets (each replica counts only its own; dashboards sum them). */
  connectedCount(): number {
    return this.nsp.sockets.size;
  }

  /** Gateways with a socket on this replica (re-registered after a pause took them over). */
  localGatewayIds(): string[] {
    return [...new Set([...this.nsp.sockets.values()].map((s) => s.data.gatewayId))];
  }

  /**
   * Emits to the gateway's room on every replica (the adapter relays it); true only when the agent,
   * wherever it is connected, accepted the lease. A replica that stopped answering makes the
   * callback wait for the timeout, with the answers that did come.
   */
  deliver(gatewayId: string, grant: LeaseGrant): Promise<boolean> {
    return new Promise((resolve) => {
      this.nsp
        .to(gatewayRoom(gatewayId))
        .timeout(ACK_TIMEOUT_MS)
        .emit('lease', grant, (_err: Error | null, replies: { accepted: boolean }[] | undefined) => resolve((replies ?? []).some((r) => r?.accepted)));
    });
  }

  private inOrder(gatewayId: string, step: () => Promise<void>): void {
    const next = (this.chains.get(gatewayId) ?? Promise.resolve())
      .then(step)
      .catch((err: unknown) => this.logger.debug({ err, gatewayId }, 'presence update failed'));
    this.chains.set(gatewayId, next);
    void next.then(() => {
      if (this.chains.get(gatewayId) === next) this.chains.delete(gatewayId);
    });
  }

  private onConnection(socket: AgentSocket): void {
    const { gatewayId, poolId } = socket.data;
    void socket.join(gatewayRoom(gatewayId));
    // The socket row first: a replica taking over a dead one re-checks it before marking offline.
    this.inOrder(gatewayId, async () => {
      await this.sockets.connected(gatewayId);
      await this.handler.presence(gatewayId, true, 'ws');
      this.onPresence?.(gatewayId, true);
    });
    socket.on('hello', (m, ack) => this.answer(socket, 'hello', helloMessage, m, ack, (v) => this.handler.hello(gatewayId, v, 'ws')));
    socket.on('renew', (m, ack) => this.answer(socket, 'renew', renewMessage, m, ack, () => this.handler.renew(gatewayId, 'ws')));
    socket.on('ack', (m, ack) => this.answer(socket, 'ack', ackMessage, m, ack, (v) => this.handler.ack(gatewayId, v, 'ws')));
    socket.on('usage', (m, ack) => this.answer(socket, 'usage', usageMessage, m, ack, async (v) => (await this.handler.usage(gatewayId, v, 'ws'), null)));
    socket.on('release', (m, ack) => this.answer(socket, 'release', releaseMessage, m, ack, () => this.handler.release(gatewayId, poolId, 'ws')));
    socket.on('disconnect', () => {
      if (this.closing) return;
      this.inOrder(gatewayId, async () => {
        // Another socket of the gateway on this replica (a reconnect overtook the close) keeps it online.
        if ((this.nsp.adapter.rooms.get(gatewayRoom(gatewayId))?.size ?? 0) > 0) return;
        await this.sockets.disconnected(gatewayId);
        // Offline only if no replica holds a socket of it: it may have reconnected to another.
        await this.handler.offlineIf(gatewayId, 'ws', async (tx) => !(await socketHeldAnywhere(tx, gatewayId)));
        this.onPresence?.(gatewayId, false);
      });
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
      const reason = describeIssue(parsed.error.issues[0]);
      this.malformed.report('ws', socket.data.gatewayId, { event, reason }, 'dropped invalid agent message');
      return reply({ ok: false, error: { name: 'validation-failed', detail: reason } });
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
