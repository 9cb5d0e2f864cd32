import type { Sql } from 'postgres';

/**
 * Audit events that two replicas (or one replica twice) wrote for one fact. Each kind of fact has
 * its own identity:
 * - a lease is issued once: one lease.granted / lease.renewed / lease.offline-issued per (gateway, seq);
 * - presence alternates: two gateway.online (or two gateway.offline) in a row for a gateway mean
 *   two replicas recorded one flip;
 * - administrative changes happen once per request: the caller passes how many it made per action
 *   (and gateway), and a different count is reported. An action also matches its variants
 *   (`allocation.changed` counts `allocation.changed.forced`).
 */
export async function duplicateAuditEvents(
  sql: Sql,
  expected: { readonly action: string; readonly gatewayId?: string; readonly count: number }[],
): Promise<string[]> {
  const out: string[] = [];
  const leases = await sql<{ gateway_id: string; seq: string; n: number }[]>`
    select gateway_id, after->>'seq' as seq, count(*)::int as n from audit_events
    where action in ('lease.granted', 'lease.renewed', 'lease.offline-issued')
    group by gateway_id, after->>'seq' having count(*) > 1`;
  for (const r of leases) out.push(`lease seq ${r.seq} of gateway ${r.gateway_id} audited ${r.n} times`);
  const presence = await sql<{ gateway_id: string; action: string; at: string }[]>`
    select gateway_id, action, at::text as at from (
      select gateway_id, action, at, lag(action) over (partition by gateway_id order by at, id) as prev
      from audit_events where action in ('gateway.online', 'gateway.offline')
    ) p where action = prev`;
  for (const r of presence) out.push(`${r.action} of gateway ${r.gateway_id} at ${r.at} repeats the one before`);
  for (const e of expected) {
    const [row] = e.gatewayId
      ? await sql<{ n: number }[]>`select count(*)::int as n from audit_events where (action = ${e.action} or action like ${e.action + '.%'}) and gateway_id = ${e.gatewayId}`
      : await sql<{ n: number }[]>`select count(*)::int as n from audit_events where action = ${e.action} or action like ${e.action + '.%'}`;
    if (row!.n !== e.count) out.push(`${e.action}${e.gatewayId ? ` of gateway ${e.gatewayId}` : ''}: ${row!.n} events for ${e.count} changes`);
  }
  return out;
}
