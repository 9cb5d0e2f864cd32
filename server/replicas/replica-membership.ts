import type { Sql } from 'postgres';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';

export interface MembershipOptions {
  readonly replicaId: string;
  readonly heartbeatMs: number;
  /** A replica whose heartbeat is older than this is dead: its agents' presence is taken over. */
  readonly timeoutMs: number;
}

export interface MembershipHooks {
  /** A dead replica's Socket.IO agent, claimed by this replica alone: mark it offline (and reclaim). */
  takeOver(gatewayId: string, deadReplica: string): Promise<void>;
  /** Another replica took this one's rows over while it was paused: re-register what it still holds. */
  reassert(): Promise<void>;
}

/**
 * Replica membership in PostgreSQL. Every replica upserts its row each heartbeat and, in the same
 * tick, claims the socket rows of replicas whose heartbeat lapsed. The claim is a DELETE … RETURNING,
 * so each row goes to exactly one replica; the offline transaction then locks the gateway row and
 * re-checks that no replica holds a socket of it (an agent that already reconnected stays online).
 * Times are the database's clock, so replicas' clocks need not agree.
 */
export class ReplicaMembership {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly opts: MembershipOptions,
    private readonly hooks: MembershipHooks,
    private readonly logger: Logger,
  ) {}

  /** Registers this replica (before it accepts any agent) and starts the heartbeat. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      if (!this.running && !this.stopped) this.running = this.tick().finally(() => (this.running = undefined));
    }, this.opts.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Stops the heartbeat. The row stays and lapses like a dead replica's: its agents, disconnected
   * without being marked offline, get REPLICA_TIMEOUT_MS to reconnect (here after a restart, or to
   * another replica) before anyone marks them offline or reclaims their points.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One heartbeat and takeover round (exposed for tests). */
  async tick(): Promise<void> {
    try {
      const reinserted = await this.beat();
      if (reinserted) {
        this.logger.warn({ replica: this.opts.replicaId }, 'this replica was taken for dead (paused?); re-registering its agents');
        await this.hooks.reassert();
      }
      await this.takeOverLapsed();
    } catch (err) {
      this.logger.warn({ err }, 'replica heartbeat failed; retrying next interval');
    }
  }

  private get sql(): Sql {
    return this.db.$client;
  }

  /** Upserts this replica's row; true when the row had to be inserted (first beat, or taken over). */
  private async beat(): Promise<boolean> {
    const [row] = await this.sql<{ inserted: boolean }[]>`
      insert into controller_replicas (id) values (${this.opts.replicaId})
      on conflict (id) do update set heartbeat_at = now()
      returning (xmax = 0) as inserted`;
    return row?.inserted ?? false;
  }

  private async takeOverLapsed(): Promise<void> {
    const dead = await this.sql<{ id: string }[]>`
      delete from controller_replicas
      where heartbeat_at < now() - make_interval(secs => ${this.opts.timeoutMs / 1000}) and id <> ${this.opts.replicaId}
      returning id`;
    if (dead.length) this.logger.warn({ replicas: dead.map((d) => d.id) }, 'replica heartbeat lapsed; taking over its agents');
    // Rows of any replica without a live row: the ones just found dead, and those a replica that
    // died mid-takeover left. Each row is deleted, so claimed, by one replica only.
    const claimed = await this.sql<{ gateway_id: string; replica_id: string }[]>`
      delete from agent_sockets s
      where not exists (select 1 from controller_replicas r where r.id = s.replica_id)
      returning gateway_id, replica_id`;
    for (const c of claimed) {
      await this.hooks.takeOver(c.gateway_id, c.replica_id).catch((err: unknown) => this.logger.warn({ err, gatewayId: c.gateway_id }, 'could not take over a gateway'));
    }
  }
}
