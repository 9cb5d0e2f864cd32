import type { Namespace, Server } from 'socket.io';
import { CONSOLE_NAMESPACE, type ConsoleChanges, type ConsoleServerToClient } from '../../shared/protocol/console-events.js';
import type { Actor } from '../auth/actor.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';

export interface ConsoleNamespaceDeps {
  readonly tokens: { authenticate(token: string): Promise<Actor | undefined> };
  readonly events: EventBus;
}

export interface ConsoleNamespaceOptions {
  /** Changes within this window go out as one batch. */
  readonly flushMs?: number;
  /** Above this many ids a batch says "many" instead of listing them. */
  readonly maxIds?: number;
  /** Connected consoles re-check their token this often, so a revoked token stops receiving. */
  readonly revalidateMs?: number;
  /**
   * Other replicas' consoles hear this one's batches through the Socket.IO adapter, so a batch is
   * recorded even with no console connected here (each change is emitted once, by the replica where
   * it committed, and reaches every console once).
   */
  readonly clustered?: boolean;
}

interface SocketData {
  token: string;
  name: string;
}

type ConsoleNsp = Namespace<Record<string, never>, ConsoleServerToClient, Record<string, never>, SocketData>;

class Batch {
  readonly gateways = new Set<string>();
  readonly pools = new Set<string>();
  online = 0;
  offline = 0;

  get empty(): boolean {
    return this.gateways.size === 0 && this.pools.size === 0;
  }

  toMessage(maxIds: number): ConsoleChanges {
    return {
      gateways: this.gateways.size > maxIds ? null : [...this.gateways],
      pools: this.pools.size > maxIds ? null : [...this.pools],
      presence: { online: this.online, offline: this.offline },
    };
  }
}

/**
 * Live updates for administrators' consoles: relays the domain events, coalesced per window, to
 * every console authenticated with an API token. Consoles refetch what changed over REST, so the
 * messages carry ids only, never data a role might not be allowed to see.
 */
export class ConsoleNamespace {
  private readonly nsp: ConsoleNsp;
  private readonly flushMs: number;
  private readonly clustered: boolean;
  private readonly maxIds: number;
  private batch = new Batch();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly revalidateTimer: NodeJS.Timeout;
  private readonly unsubscribe: (() => void)[];

  constructor(
    io: Server,
    private readonly deps: ConsoleNamespaceDeps,
    private readonly logger: Logger,
    opts: ConsoleNamespaceOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 250;
    this.maxIds = opts.maxIds ?? 200;
    this.clustered = opts.clustered ?? false;
    this.nsp = io.of(CONSOLE_NAMESPACE) as ConsoleNsp;
    this.nsp.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      if (typeof token !== 'string') return next(Object.assign(new Error('unauthorized'), { data: { code: 401 } }));
      deps.tokens
        .authenticate(token)
        .then((actor) => {
          if (actor?.kind !== 'user') return next(Object.assign(new Error('unauthorized'), { data: { code: 401 } }));
          socket.data.token = token;
          socket.data.name = actor.name;
          next();
        })
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'could not authenticate a console socket');
          next(Object.assign(new Error('unavailable'), { data: { code: 503 } }));
        });
    });
    this.unsubscribe = [
      deps.events.on('gateway.changed', (e) => this.add((b) => b.gateways.add(e.gatewayId))),
      deps.events.on('pool.changed', (e) => this.add((b) => b.pools.add(e.poolId))),
      deps.events.on('gateway.presence', (e) =>
        this.add((b) => {
          b.gateways.add(e.gatewayId);
          b.pools.add(e.poolId);
          if (e.online) b.online++;
          else b.offline++;
        }),
      ),
    ];
    this.revalidateTimer = setInterval(() => void this.revalidate(), opts.revalidateMs ?? 60_000);
    this.revalidateTimer.unref();
  }

  connectedCount(): number {
    return this.nsp.sockets.size;
  }

  async close(): Promise<void> {
    for (const off of this.unsubscribe) off();
    clearInterval(this.revalidateTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.nsp.disconnectSockets(true);
  }

  private add(record: (b: Batch) => void): void {
    // Nobody watching: nothing to remember (here; other replicas' consoles may watch).
    if (!this.clustered && this.nsp.sockets.size === 0) return;
    record(this.batch);
    this.flushTimer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const batch = this.batch;
    this.batch = new Batch();
    if (batch.empty) return;
    this.nsp.emit('changes', batch.toMessage(this.maxIds));
  }

  private async revalidate(): Promise<void> {
    for (const socket of this.nsp.sockets.values()) {
      const actor = await this.deps.tokens.authenticate(socket.data.token).catch((err: unknown) => {
        this.logger.warn({ err }, 'could not revalidate a console token; keeping the socket');
        return 'unknown' as const;
      });
      if (actor === undefined) {
        this.logger.info({ name: socket.data.name }, 'console token no longer valid; disconnecting');
        socket.disconnect(true);
      }
    }
  }
}
