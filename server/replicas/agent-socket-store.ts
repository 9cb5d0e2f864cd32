import { eq, sql as dsql } from 'drizzle-orm';
import type { Sql } from 'postgres';
import type { Db, Tx } from '../db/database.js';
import { BatchQueue, succeeded, type Outcome } from '../db/batch-queue.js';
import { agentSockets } from '../db/schema.js';
import { LANES } from '../db/connection-budget.js';

interface SocketChange {
  readonly gatewayId: string;
  readonly up: boolean;
}

/**
 * Which replica holds each gateway's Socket.IO connection (table agent_sockets). Connects and
 * disconnects of many agents are written in batches (a reconnect storm is one statement per batch);
 * per gateway they apply in the order made.
 */
export class AgentSocketStore {
  private readonly changes: BatchQueue<SocketChange, void>;

  constructor(
    private readonly db: Db,
    readonly replicaId: string,
    lanes: number = LANES.agentSockets,
  ) {
    this.changes = new BatchQueue((b) => this.apply(b), { maxBatch: 256, lanes, key: (r) => r.gatewayId });
  }

  /** Records that this replica holds a socket of the gateway (before its presence goes online). */
  connected(gatewayId: string): Promise<void> {
    return this.changes.submit({ gatewayId, up: true });
  }

  /** This replica holds no socket of the gateway any more. */
  disconnected(gatewayId: string): Promise<void> {
    return this.changes.submit({ gatewayId, up: false });
  }

  idle(): Promise<void> {
    return this.changes.idle();
  }

  /** Re-registers sockets this replica still holds after another replica took its rows over. */
  async reassert(gatewayIds: readonly string[]): Promise<void> {
    if (gatewayIds.length) await this.apply(gatewayIds.map((gatewayId) => ({ gatewayId, up: true })));
  }

  private async apply(batch: readonly SocketChange[]): Promise<Outcome<void>[]> {
    const up = batch.filter((c) => c.up).map((c) => c.gatewayId);
    const down = batch.filter((c) => !c.up).map((c) => c.gatewayId);
    const sql: Sql = this.db.$client;
    if (up.length) {
      // A gateway deleted meanwhile has no row to point at: skip it rather than fail the batch.
      await sql`
        insert into agent_sockets (gateway_id, replica_id)
        select g.id, ${this.replicaId} from gateways g where g.id = any(${up}::uuid[])
        on conflict (gateway_id, replica_id) do update set connected_at = now()`;
    }
    if (down.length) await sql`delete from agent_sockets where replica_id = ${this.replicaId} and gateway_id = any(${down}::uuid[])`;
    return batch.map(() => succeeded(undefined));
  }
}

/** Inside the offline transaction (gateway row locked): does any replica still hold a socket of it? */
export async function socketHeldAnywhere(tx: Tx, gatewayId: string): Promise<boolean> {
  const rows = await tx.select({ one: dsql<number>`1` }).from(agentSockets).where(eq(agentSockets.gatewayId, gatewayId)).limit(1);
  return rows.length > 0;
}

