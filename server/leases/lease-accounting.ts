/**
 * Lease accounting: the one home of F2's definitions, in SQL and in TypeScript.
 *
 * - A lease is **live** while it has not ended (released, reclaimed, expired by the sweeper, or
 *   superseded by a lease the agent acknowledged: each sets ended_at) and its expiry is after now.
 *   Expiry is judged by the clock, not by the sweeper, so a point is held until `exp` exactly.
 * - A gateway **holds** the largest points among its live leases; a reserved gateway (not
 *   decommissioned) holds at least its allocation, online or not.
 * - A gateway's **pending** points are what its allocation asks beyond what it holds, while it is
 *   online and not decommissioned: the shortfall a grant could not serve.
 *
 * Every query that counts points builds on the SQL text below; the TypeScript functions say the
 * same for rows already in memory, and test/integration/lease-accounting.test.ts checks the two
 * against each other on random data. The text is constant per call site (no inlined values), so
 * prepared statements stay few.
 */

export interface Points {
  tags: number;
  connections: number;
}

/**
 * SQL: lease row `alias` has not ended (it may still be past its expiry: the sweeper has not seen
 * it). The rows that releasing, reclaiming, sweeping and superseding may end; the partial live
 * indexes match it.
 */
export function notEndedSql(alias: string): string {
  return `${alias}.ended_at is null`;
}

/** SQL: lease row `alias` is live at `now` (an SQL expression, `now()` by default). */
export function liveLeaseSql(alias: string, now = 'now()'): string {
  return `(${notEndedSql(alias)} and ${alias}.expires_at > ${now})`;
}

/**
 * SQL: one row per gateway (columns gateway_id, pool_id, online, revoked, alloc_tags,
 * alloc_connections, held_tags, held_connections, live_leases), to use as a CTE body. Filter on
 * pool_id or gateway_id in the outer query: both are grouping columns, so PostgreSQL pushes the
 * filter down into the scan. `excludeLease`: an SQL expression naming one lease id left out (the
 * commit-time keep guard judges a new lease against the others, see keep-guard.ts).
 */
export function heldByGatewaySql(now = 'now()', excludeLease?: string): string {
  const exclude = excludeLease === undefined ? '' : ` and l.id <> ${excludeLease}`;
  return `
    select g.id as gateway_id, g.pool_id, g.online, g.revoked_at is not null as revoked,
      g.alloc_tags, g.alloc_connections,
      greatest(case when g.reserved and g.revoked_at is null then g.alloc_tags else 0 end, coalesce(max(l.tags), 0))::int as held_tags,
      greatest(case when g.reserved and g.revoked_at is null then g.alloc_connections else 0 end, coalesce(max(l.connections), 0))::int as held_connections,
      count(l.id)::int as live_leases
    from gateways g left join leases l on l.gateway_id = g.id and ${liveLeaseSql('l', now)}${exclude}
    group by g.id, g.pool_id`;
}

/** SQL over a row of heldByGatewaySql aliased `h`: its pending points of one kind. */
export function pendingSql(h: string, kind: 'tags' | 'connections'): string {
  return `(case when ${h}.online and not ${h}.revoked then greatest(0, ${h}.alloc_${kind} - ${h}.held_${kind}) else 0 end)`;
}

export interface LeaseFacts {
  readonly tags: number;
  readonly connections: number;
  readonly endedAt: Date | null;
  readonly expiresAt: Date;
}

export interface GatewayFacts {
  readonly reserved: boolean;
  readonly revoked: boolean;
  readonly online: boolean;
  readonly allocTags: number;
  readonly allocConnections: number;
}

function isLiveLease(l: LeaseFacts, nowMs: number): boolean {
  return l.endedAt === null && l.expiresAt.getTime() > nowMs;
}

/** What a gateway holds, from its leases (any, live or not) at `nowMs`. */
export function heldPoints(g: GatewayFacts, leases: readonly LeaseFacts[], nowMs: number): Points {
  const floor = g.reserved && !g.revoked;
  const held = { tags: floor ? g.allocTags : 0, connections: floor ? g.allocConnections : 0 };
  for (const l of leases) {
    if (!isLiveLease(l, nowMs)) continue;
    held.tags = Math.max(held.tags, l.tags);
    held.connections = Math.max(held.connections, l.connections);
  }
  return held;
}

/** What a gateway's allocation asks beyond what it holds, while it is online. */
export function pendingPoints(g: GatewayFacts, held: Points): Points {
  if (!g.online || g.revoked) return { tags: 0, connections: 0 };
  return { tags: Math.max(0, g.allocTags - held.tags), connections: Math.max(0, g.allocConnections - held.connections) };
}
