import type { Sql } from 'postgres';

/**
 * Presence at controller start with the embedded broker: the broker lives in this process, so
 * nobody is connected yet, whatever the table says from before the restart (ghost online: an
 * agent killed while the controller was down stayed "online" for good, so an on-disconnect pool
 * never got its points back). Every gateway shown online goes offline now, one `gateway.offline`
 * audit row each; agents that are alive say hello within seconds and are online again.
 *
 * With an external broker agents stay connected across a controller restart: presence comes from
 * the retained presence messages instead (the bridge subscribes to them unshared, so every
 * controller gets them on each (re)connect, wills that fired while it was away included).
 */
export async function markAllOfflineAtStart(sql: Sql, nowMs: number): Promise<{ gatewayId: string; poolId: string }[]> {
  const rows = await sql<{ id: string; pool_id: string }[]>`
    with locked as (
      select id, transport from "gateways" where online order by id for update
    ), changed as (
      update "gateways" g set online = false, presence_changed_at = to_timestamp(${nowMs}::float8 / 1000)
      from locked where g.id = locked.id
      returning g.id, g.pool_id, g.name, locked.transport
    ), audited as (
      insert into "audit_events" (actor, action, pool_id, gateway_id, subject, before, after)
      select 'system:presence', 'gateway.offline', pool_id, id, name, null, jsonb_build_object('transport', transport, 'reason', 'controller-start')
      from changed
    )
    select id, pool_id from changed`;
  return rows.map((r) => ({ gatewayId: r.id, poolId: r.pool_id }));
}
