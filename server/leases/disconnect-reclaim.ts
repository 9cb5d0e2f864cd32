import type { Sql } from 'postgres';
import { notEndedSql } from './lease-accounting.js';
import type { EndedLease } from './lease-store.js';

/** The statement is raw for its one round trip (find, lock, end and audit at once); not-ended is lease-accounting's. */
const NOT_ENDED = notEndedSql('l');

/**
 * reclaim: on-disconnect, the controller's half (PRODUCT F2, F3). A lease carrying a
 * `disconnectGraceSec` claim returns to the pool once its gateway is offline and the controller
 * has not heard from it for grace + margin. The agent drops to its trial allowance after the same
 * grace without an answered request, counted from when it *sent* that request; the controller's
 * "last heard" is later still (going offline, or a grant, which stamps `last_seen_at`), so under
 * partition the agent has stopped using the points before anyone else can get them.
 *
 * Nothing is reclaimed at the moment presence drops: a transport switch (MQTT ↔ WebSocket) or a
 * broker outage shorter than the grace returns nothing. Leases without the claim (issued before the
 * pool switched to on-disconnect) return at their expiry, as their agents were never told.
 */
export interface ReclaimedLease extends EndedLease {
  /** When the controller lost the gateway (epoch ms): the later of going offline and last seen. */
  readonly lostAtMs: number;
  readonly graceSec: number;
}

/**
 * Ends the due leases and writes one `lease.reclaimed` audit row per gateway, in one statement
 * (atomic on its own). Gateways are locked in id order, SKIP LOCKED: replicas share the work, and
 * a gateway a grant or a presence change holds is looked at again next sweep.
 */
export async function reclaimDisconnected(sql: Sql, nowMs: number, marginSec: number, batch: number): Promise<ReclaimedLease[]> {
  const rows = await sql<
    { id: string; gateway_id: string; pool_id: string; seq: string; tags: number; connections: number; lost_at_ms: number; grace: number }[]
  >`
    with due as (
      select distinct g.id, g.name, greatest(g.presence_changed_at, g.last_seen_at) as lost_at
      from "leases" l join "gateways" g on g.id = l.gateway_id
      where ${sql.unsafe(NOT_ENDED)} and l.disconnect_grace_seconds is not null and not g.online
        and greatest(g.presence_changed_at, g.last_seen_at)
          + make_interval(secs => l.disconnect_grace_seconds + ${marginSec}::int) <= to_timestamp(${nowMs}::float8 / 1000)
      order by g.id
      limit ${batch}
    ), locked as (
      select g.id, due.name, due.lost_at from "gateways" g join due on due.id = g.id
      where not g.online and greatest(g.presence_changed_at, g.last_seen_at) = due.lost_at
      order by g.id
      for update of g skip locked
    ), ended as (
      update "leases" l set state = 'reclaimed', ended_at = now()
      from locked
      where l.gateway_id = locked.id and ${sql.unsafe(NOT_ENDED)} and l.disconnect_grace_seconds is not null
        and locked.lost_at + make_interval(secs => l.disconnect_grace_seconds + ${marginSec}::int) <= to_timestamp(${nowMs}::float8 / 1000)
      returning l.id, l.gateway_id, l.pool_id, l.seq, l.tags, l.connections, l.disconnect_grace_seconds as grace,
        (extract(epoch from locked.lost_at) * 1000)::float8 as lost_at_ms, locked.name
    ), audited as (
      insert into "audit_events" (actor, action, pool_id, gateway_id, subject, before, after)
      select 'system:reclaim', 'lease.reclaimed', pool_id, gateway_id, string_agg(id::text, ','),
        jsonb_build_object('leases', count(*), 'tags', max(tags), 'connections', max(connections)),
        jsonb_build_object('reason', 'disconnected', 'lostAt', to_timestamp(max(lost_at_ms) / 1000), 'graceSec', max(grace), 'marginSec', ${marginSec}::int)
      from ended group by pool_id, gateway_id
    )
    select id, gateway_id, pool_id, seq, tags, connections, lost_at_ms, grace from ended`;
  return rows.map((r) => ({
    id: r.id,
    gatewayId: r.gateway_id,
    poolId: r.pool_id,
    seq: Number(r.seq),
    tags: r.tags,
    connections: r.connections,
    lostAtMs: r.lost_at_ms,
    graceSec: r.grace,
  }));
}
