import type { Sql } from 'postgres';

/**
 * An independent reading of F2's invariant, written from the specification rather than from
 * the server's lease-accounting SQL: raw rows are read in one REPEATABLE READ snapshot and the
 * arithmetic is done here. Points float (F2 as rewritten by issue 14): a gateway may be using the
 * points of every lease issued to it that has not expired, been released (or reclaimed), or been
 * superseded by a newer lease the agent acknowledged; a reserved gateway (not decommissioned) at
 * least its allocation. Expiry is judged by the clock, not by the sweeper's state.
 */

export const KINDS = ['tags', 'connections'] as const;
type Kind = (typeof KINDS)[number];
export type Points = Record<Kind, number>;

interface PoolReading {
  poolId: string;
  overCommitted: boolean;
  /** Audit events that can clear over-commitment; unchanged count = the flag stayed set. */
  clearings: number;
  held: Points;
  limit: Points;
  gateways: number;
  liveLeases: number;
}

/** What one gateway holds in a snapshot and why (for a violation's message). */
interface GatewayReading {
  poolId: string;
  held: Points;
  /** The reserved floor behind `held`, if any, and the leases. */
  floor: Points | undefined;
  leases: LeaseRow[];
}

export interface Snapshot {
  /** The instant the snapshot judges expiry at (taken inside the snapshot's first statement). */
  at: Date;
  pools: Map<string, PoolReading>;
  gateways: Map<string, GatewayReading>;
  /** Rows that contradict the lease model (e.g. marked expired before their expiry). */
  anomalies: string[];
}

interface PoolRow {
  id: string;
  capacity_tags: number;
  capacity_connections: number;
  overdraft_factor: number;
  over_committed: boolean;
}
interface GatewayRow {
  id: string;
  pool_id: string;
  alloc_tags: number;
  alloc_connections: number;
  reserved: boolean;
  revoked: boolean;
}
interface LeaseRow {
  id: string;
  gateway_id: string;
  pool_id: string;
  seq: string;
  tags: number;
  connections: number;
  state: string;
  expires_at: Date;
  /** For messages, as text (a drizzle-owned client leaves timestamps as text, another parses them). */
  iat: string;
  exp: string;
}
interface AckRow {
  gateway_id: string;
  seq: string;
}
interface CountRow {
  pool_id: string;
  n: string;
}

/** States in which a lease no longer counts whatever its expiry. */
const ENDED_BY_EVENT = new Set(['released', 'reclaimed']);

export async function takeSnapshot(sql: Sql): Promise<Snapshot> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    // The snapshot is taken at the start of this first statement; clock_timestamp() is read
    // within it, so "now" is not earlier than the data (a BEGIN-time now() could be).
    const [{ at }] = (await tx`select clock_timestamp() as at`) as unknown as [{ at: Date }];
    const pools = (await tx`select id, capacity_tags, capacity_connections, overdraft_factor, over_committed from pools`) as unknown as PoolRow[];
    const gateways = (await tx`select id, pool_id, alloc_tags, alloc_connections, reserved, revoked_at is not null as revoked from gateways`) as unknown as GatewayRow[];
    // Every lease not yet past its expiry, whatever the server thinks its state is.
    const leases = (await tx`
      select id, gateway_id, pool_id, seq, tags, connections, state, expires_at, issued_at::text as iat, expires_at::text as exp
      from leases where expires_at > ${at}`) as unknown as LeaseRow[];
    // The newest lease each agent acknowledged (any lease older than it is superseded).
    const acks = (await tx`
      select gateway_id, max(seq) as seq from leases where acknowledged_at is not null group by gateway_id`) as unknown as AckRow[];
    const marked = (await tx`
      select count(*) as n from leases where state = 'expired' and expires_at > ${at}`) as unknown as [{ n: string }];
    const clearings = (await tx`
      select pool_id, count(*) as n from audit_events
      where action in ('pool.fits-license', 'pool.license.uploaded') group by pool_id`) as unknown as CountRow[];
    return evaluate(at, pools, gateways, leases, acks, clearings, Number(marked[0].n));
  });
}

function evaluate(at: Date, pools: PoolRow[], gateways: GatewayRow[], leases: LeaseRow[], acks: AckRow[], clearings: CountRow[], markedEarly: number): Snapshot {
  const anomalies: string[] = [];
  if (markedEarly > 0) anomalies.push(`${markedEarly} lease(s) marked expired before their expiry`);
  const ackedSeq = new Map(acks.map((a) => [a.gateway_id, Number(a.seq)]));
  const gatewayPool = new Map(gateways.map((g) => [g.id, g.pool_id]));
  // Per gateway: the largest points among leases it may still be using.
  const leaseMax = new Map<string, Points>();
  const liveCount = new Map<string, number>();
  const counted = new Map<string, LeaseRow[]>();
  for (const l of leases) {
    if (ENDED_BY_EVENT.has(l.state)) continue;
    if (Number(l.seq) < (ackedSeq.get(l.gateway_id) ?? -1)) continue;
    if (l.state === 'superseded') anomalies.push(`lease ${l.id} marked superseded but no newer lease was acknowledged`);
    if (gatewayPool.get(l.gateway_id) !== l.pool_id) anomalies.push(`lease ${l.id} names pool ${l.pool_id}, its gateway is in ${gatewayPool.get(l.gateway_id)}`);
    const m = leaseMax.get(l.gateway_id) ?? { tags: 0, connections: 0 };
    leaseMax.set(l.gateway_id, { tags: Math.max(m.tags, l.tags), connections: Math.max(m.connections, l.connections) });
    liveCount.set(l.gateway_id, (liveCount.get(l.gateway_id) ?? 0) + 1);
    counted.set(l.gateway_id, [...(counted.get(l.gateway_id) ?? []), l]);
  }
  const clearingsByPool = new Map(clearings.map((c) => [c.pool_id, Number(c.n)]));
  const readings = new Map<string, PoolReading>();
  for (const p of pools) {
    readings.set(p.id, {
      poolId: p.id,
      overCommitted: p.over_committed,
      clearings: clearingsByPool.get(p.id) ?? 0,
      held: { tags: 0, connections: 0 },
      limit: { tags: Math.floor(p.capacity_tags * p.overdraft_factor), connections: Math.floor(p.capacity_connections * p.overdraft_factor) },
      gateways: 0,
      liveLeases: 0,
    });
  }
  const byGateway = new Map<string, GatewayReading>();
  for (const g of gateways) {
    const r = readings.get(g.pool_id)!;
    const m = leaseMax.get(g.id) ?? { tags: 0, connections: 0 };
    const floor = g.reserved && !g.revoked;
    const held = { tags: Math.max(floor ? g.alloc_tags : 0, m.tags), connections: Math.max(floor ? g.alloc_connections : 0, m.connections) };
    byGateway.set(g.id, { poolId: g.pool_id, held, floor: floor ? { tags: g.alloc_tags, connections: g.alloc_connections } : undefined, leases: counted.get(g.id) ?? [] });
    r.held.tags += held.tags;
    r.held.connections += held.connections;
    r.gateways += 1;
    r.liveLeases += liveCount.get(g.id) ?? 0;
  }
  return { at, pools: readings, gateways: byGateway, anomalies };
}

/**
 * The invariant between two consecutive snapshots: a pool that is not over-committed holds no
 * more than its limit; one that stayed over-committed since the previous snapshot (no clearing
 * event in between) holds no more than it did then.
 */
export function violations(prev: Snapshot | undefined, cur: Snapshot): string[] {
  const out = cur.anomalies.map((a) => `${cur.at.toISOString()}: ${a}`);
  for (const r of cur.pools.values()) {
    const before = prev?.pools.get(r.poolId);
    const stayedOver = r.overCommitted && before?.overCommitted === true && before.clearings === r.clearings;
    for (const k of KINDS) {
      if (!r.overCommitted && r.held[k] > r.limit[k]) {
        out.push(`${cur.at.toISOString()}: pool ${r.poolId} holds ${r.held[k]} ${k} > limit ${r.limit[k]}`);
      }
      if (stayedOver && r.held[k] > before.held[k]) {
        out.push(`${cur.at.toISOString()}: over-committed pool ${r.poolId} grew from ${before.held[k]} to ${r.held[k]} ${k}` + grownGateways(prev!, cur, r.poolId, k));
      }
    }
  }
  return out;
}

/** The gateways of a pool that hold more of `k` than in the previous snapshot, with why, then and now. */
function grownGateways(prev: Snapshot, cur: Snapshot, poolId: string, k: Kind): string {
  const lines: string[] = [];
  for (const [id, g] of cur.gateways) {
    const was = prev.gateways.get(id);
    if (g.poolId !== poolId || g.held[k] <= (was?.held[k] ?? 0)) continue;
    lines.push(`; gateway ${id} ${was?.held[k] ?? 0} -> ${g.held[k]} ${k}: was [${because(was)}] at ${prev.at.toISOString()}, now [${because(g)}]`);
  }
  return lines.join('');
}

function because(g: GatewayReading | undefined): string {
  if (!g) return '';
  const floor = g.floor ? [`reserved ${g.floor.tags}t/${g.floor.connections}c`] : [];
  return [...floor, ...g.leases.map((l) => `lease ${l.id} seq ${l.seq} ${l.state} ${l.tags}t/${l.connections}c iat ${l.iat} exp ${l.exp}`)].join(', ');
}
