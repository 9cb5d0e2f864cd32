import { io, type Socket } from 'socket.io-client';
import { z } from 'zod';
import { backoffDelayMs, type BackoffOptions } from '../../shared/backoff.js';
import { agentErrorMessage, leaseMessage, type HelloMessage } from '../../shared/protocol/agent-messages.js';
import { AGENT_NAMESPACE, type AgentClientToServer, type AgentServerToClient } from '../../shared/protocol/socket-events.js';
import type { Logger } from '../logger.js';
import { ControllerProblem, TransportTimeout, type AgentTransport, type TransportHandlers, type TransportIdentity } from './agent-transport.js';
import { describeIssue } from '../../shared/zod-issues.js';

export interface SocketTransportOptions {
  readonly controllerUrl: string;
  /** CAs to trust for an https:// controller (wss), FLOATLEASE_CA_FILE plus the system CAs. */
  readonly ca?: readonly string[];
  readonly identity: TransportIdentity;
  readonly handlers: TransportHandlers;
  readonly logger: Logger;
  readonly requestTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
}

type AgentSocket = Socket<AgentServerToClient, AgentClientToServer>;

const reply = <T extends z.ZodType>(value: T) =>
  z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), value }), z.object({ ok: z.literal(false), error: agentErrorMessage })]);

const replies = {
  hello: reply(leaseMessage.nullable()),
  renew: reply(leaseMessage),
  ack: reply(z.object({ acknowledged: z.boolean() })),
  usage: reply(z.null()),
  release: reply(z.object({ released: z.int() })),
} as const;

/**
 * The agent on the controller's Socket.IO namespace `/agent`, authenticated in the handshake.
 * Every request is acknowledged with an AgentReply; pushed leases are answered `{accepted}`.
 */
export class SocketTransport implements AgentTransport {
  readonly name = 'ws' as const;
  private socket: AgentSocket | undefined;
  private ready = false;
  private refusals = 0;
  /** Socket.IO's manager waits out its backoff before the next attempt (after a close or a failed attempt). */
  private backingOff = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;
  private readonly backoff: BackoffOptions;

  constructor(private readonly o: SocketTransportOptions) {
    this.timeoutMs = o.requestTimeoutMs ?? 10_000;
    this.backoff = o.backoff ?? { baseMs: 1_000, maxMs: 30_000 };
  }

  start(): void {
    if (this.socket) return;
    const s: AgentSocket = io(`${this.o.controllerUrl}${AGENT_NAMESPACE}`, {
      auth: { credential: this.o.identity.credential },
      transports: ['websocket'],
      forceNew: true,
      timeout: 10_000,
      // socket.io-client's own capped, jittered backoff for lost connections.
      reconnectionDelay: this.backoff.baseMs,
      reconnectionDelayMax: this.backoff.maxMs,
      randomizationFactor: 0.5,
      ...(this.o.ca ? { ca: [...this.o.ca] } : {}),
    });
    this.socket = s;
    s.io.on('close', () => void (this.backingOff = true));
    s.io.on('reconnect_error', () => void (this.backingOff = true));
    s.io.on('reconnect_attempt', () => void (this.backingOff = false));
    s.on('connect', () => {
      this.backingOff = false;
      this.refusals = 0;
      this.ready = true;
      this.o.handlers.up(this);
    });
    s.on('disconnect', (reason) => {
      if (this.ready) {
        this.ready = false;
        this.o.handlers.down(this);
      }
      // The server ended the session (e.g. it is shutting down): socket.io will not retry by itself.
      if (reason === 'io server disconnect') this.retryLater(s);
    });
    s.on('connect_error', (err) => {
      if (s.active) return this.o.logger.debug({ err }, 'websocket connect failed; retrying');
      // Refused by the namespace's handshake check: no automatic retry.
      const code = (err as { data?: { code?: unknown } }).data?.code;
      if (code === 401) this.o.handlers.authRefused(this);
      else this.o.logger.warn({ err, code }, 'controller refused the websocket handshake; retrying');
      this.retryLater(s);
    });
    s.on('lease', (raw: unknown, ack: unknown) => {
      const answer = typeof ack === 'function' ? (ack as (r: { accepted: boolean }) => void) : () => undefined;
      const m = leaseMessage.safeParse(raw);
      if (!m.success) {
        this.o.logger.warn({ event: 'lease', reason: describeIssue(m.error.issues[0]) }, 'dropped invalid websocket message');
        return answer({ accepted: false });
      }
      this.o.handlers.lease(m.data, this).then(
        (accepted) => answer({ accepted }),
        () => answer({ accepted: false }),
      );
    });
    s.on('problem', (raw: unknown) => {
      const e = agentErrorMessage.safeParse(raw);
      if (!e.success) return this.o.logger.warn({ event: 'problem', reason: describeIssue(e.error.issues[0]) }, 'dropped invalid websocket message');
      this.o.handlers.problem(e.data, this);
    });
  }

  connected(): boolean {
    return this.ready && this.socket?.connected === true;
  }

  async hello(m: HelloMessage, _lastSeq: number): Promise<void> {
    const lease = await this.request('hello', m);
    if (lease) await this.o.handlers.lease(lease, this);
  }

  async renew(lastSeq: number): Promise<void> {
    await this.o.handlers.lease(await this.request('renew', { seq: lastSeq }), this);
  }

  async ack(jti: string): Promise<void> {
    await this.request('ack', { jti });
  }

  async usage(u: { tags: number; connections: number }): Promise<void> {
    await this.request('usage', { tags: u.tags, connections: u.connections });
  }

  async release(reason?: string): Promise<void> {
    await this.request('release', reason ? { reason } : {});
  }

  retryNow(): void {
    const s = this.socket;
    if (!s || s.connected) return;
    if (this.retryTimer) {
      // Waiting after a refused handshake: ask again now.
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.o.logger.debug({ transport: this.name }, 'the controller answered over HTTP; reconnecting now');
      s.connect();
      return;
    }
    if (!s.active || !this.backingOff) return;
    // Socket.IO has no "try now": closing the idle manager cancels its timer, and connect opens anew.
    this.backingOff = false;
    this.o.logger.debug({ transport: this.name }, 'the controller answered over HTTP; reconnecting now');
    s.disconnect();
    s.connect();
  }

  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    const s = this.socket;
    this.socket = undefined;
    this.ready = false;
    if (!s) return;
    s.removeAllListeners();
    s.close();
  }

  private retryLater(s: AgentSocket): void {
    clearTimeout(this.retryTimer);
    this.refusals += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.socket === s && !s.connected) s.connect();
    }, backoffDelayMs(this.refusals, this.backoff));
    this.retryTimer.unref();
  }

  private async request<K extends keyof typeof replies>(event: K, body: object): Promise<ReplyValue<K>> {
    const s = this.socket;
    if (!s || !this.connected()) throw new Error('websocket is not connected');
    let raw: unknown;
    try {
      const timed = s.timeout(this.timeoutMs);
      // Widened once here: the shared event map types each event's ack, and every reply is parsed below anyway.
      raw = await (timed.emitWithAck as (ev: string, b: object) => Promise<unknown>).call(timed, event, body);
    } catch {
      throw new TransportTimeout('ws', event, this.timeoutMs);
    }
    const parsed = replies[event].safeParse(raw);
    if (!parsed.success) throw new Error(`ws: invalid reply to ${event}: ${describeIssue(parsed.error.issues[0])}`);
    if (!parsed.data.ok) throw new ControllerProblem(parsed.data.error);
    return parsed.data.value as ReplyValue<K>;
  }
}

type ReplyValue<K extends keyof typeof replies> = Extract<z.output<(typeof replies)[K]>, { ok: true }>['value'];

