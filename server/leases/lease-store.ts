import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { leases } from '../db/schema.js';
import { liveLeaseSql, notEndedSql } from './lease-accounting.js';

/** Not ended (issued or acknowledged), which the partial live indexes match. */
const NOT_ENDED = sql.raw(notEndedSql('"leases"'));
const LIVE = sql.raw(liveLeaseSql('"leases"'));

export interface EndedLease {
  id: string;
  gatewayId: string;
  poolId: string;
  seq: number;
  tags: number;
  connections: number;
}

/** One lease of a gateway, as a report about it needs it. */
export interface GatewayLease {
  poolId: string;
  seq: number;
  tags: number;
  connections: number;
  expiresAt: Date;
  endedAt: Date | null;
}

export const leaseStore = {
  async findForGateway(q: DbOrTx, gatewayId: string, jti: string): Promise<GatewayLease | undefined> {
    const [row] = await q
      .select({ poolId: leases.poolId, seq: leases.seq, tags: leases.tags, connections: leases.connections, expiresAt: leases.expiresAt, endedAt: leases.endedAt })
      .from(leases)
      .where(and(eq(leases.id, jti), eq(leases.gatewayId, gatewayId)));
    return row;
  },

  async endLive(q: DbOrTx, gatewayId: string, state: 'released' | 'reclaimed'): Promise<EndedLease[]> {
    return q
      .update(leases)
      .set({ state, endedAt: sql`now()` })
      .where(and(eq(leases.gatewayId, gatewayId), NOT_ENDED))
      .returning(endedColumns);
  },
  /**
   * Marks leases past their expiry as expired, a batch at a time. SKIP LOCKED lets several
   * controllers sweep at once without waiting on each other or touching a row twice.
   */
  async expireDue(q: DbOrTx, batch: number): Promise<EndedLease[]> {
    const due = q
      .select({ id: leases.id })
      .from(leases)
      .where(and(NOT_ENDED, sql`${leases.expiresAt} <= now()`))
      .limit(batch)
      .for('update', { skipLocked: true });
    return q
      .update(leases)
      .set({ state: 'expired', endedAt: sql`now()` })
      .where(inArray(leases.id, due))
      .returning(endedColumns);
  },
  /**
   * Deletes up to `batch` leases that ended more than `days` ago. A gateway's latest lease stays
   * (its view shows it); the audit trail keeps every lease's events. SKIP LOCKED: replicas share it.
   */
  async pruneEnded(q: DbOrTx, days: number, batch: number): Promise<number> {
    const rows = await q.execute(sql`
      with doomed as (
        select l.id from ${leases} l join gateways g on g.id = l.gateway_id
        where l.ended_at is not null and l.ended_at < now() - make_interval(days => ${days}::int) and l.seq < g.lease_seq
        order by l.ended_at
        limit ${batch}
        for update of l skip locked
      )
      delete from ${leases} where id in (select id from doomed) returning id`);
    return rows.length;
  },
  /** Kids of keys that signed leases still live; a retired key stays published until none is left. */
  async liveKids(q: DbOrTx): Promise<string[]> {
    const rows = await q
      .selectDistinct({ kid: leases.kid })
      .from(leases)
      .where(LIVE);
    return rows.map((r) => r.kid);
  },
};

const endedColumns = {
  id: leases.id,
  gatewayId: leases.gatewayId,
  poolId: leases.poolId,
  seq: leases.seq,
  tags: leases.tags,
  connections: leases.connections,
};
