import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { heldByGatewaySql, pendingSql } from '../leases/lease-accounting.js';

/** How long each series is kept (a little past its window, so the window is always full). */
const RETENTION = { minute: '25 hours', hour: '31 days', gateway: '31 days' } as const;

// Every figure is sampled at the tick's clock (a parameter), not now(): a test can script a day.
const HELD = sql.raw(heldByGatewaySql('(select t from clock)'));
const PENDING_TAGS = sql.raw(pendingSql('g', 'tags'));
const PENDING_CONNECTIONS = sql.raw(pendingSql('g', 'connections'));

export interface TickCounts {
  /** Pool rows written (two per pool: its minute and its hour bucket). */
  readonly poolRows: number;
  /** Gateways whose figures changed since their last row. */
  readonly gatewayRows: number;
  readonly pruned: number;
}

export interface PoolRollupRow {
  bucket: Date;
  heldTags: number;
  heldConnections: number;
  allocTags: number;
  allocConnections: number;
  usedTags: number;
  usedConnections: number;
  pendingTags: number;
  pendingConnections: number;
  limitTags: number;
  limitConnections: number;
}

export interface GatewayHistoryRow {
  at: Date;
  online: boolean;
  usageTags: number | null;
  usageConnections: number | null;
  allocTags: number;
  allocConnections: number;
  heldTags: number;
  heldConnections: number;
}

const toDate = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));

export const historyStore = {
  /**
   * One statement for the whole fleet: it computes every gateway's held and pending points once
   * (lease-accounting's SQL), folds them per pool into the minute and hour buckets (keeping each
   * figure's peak), appends a row for each gateway whose figures changed, and prunes what is past
   * retention. Several replicas may tick at once: the upserts keep peaks and a gateway's row per
   * minute is written once, so a second tick changes nothing.
   */
  async tick(q: DbOrTx, at: Date): Promise<TickCounts> {
    const rows = (await q.execute(sql`
      with clock as (select ${at.toISOString()}::timestamptz as t),
      h as (${HELD}),
      g as (
        select h.*, x.usage_tags, x.usage_connections
        from h join gateways x on x.id = h.gateway_id
      ),
      agg as (
        -- Same figures as the pool view (pool-store selectTotals); the limit as capacity-policy's
        -- poolLimit (capacity × overdraft, floored), checked against it in the history test.
        select p.id as pool_id,
          coalesce(sum(g.held_tags), 0)::int as held_tags,
          coalesce(sum(g.held_connections), 0)::int as held_connections,
          coalesce(sum(g.alloc_tags) filter (where not g.revoked), 0)::int as alloc_tags,
          coalesce(sum(g.alloc_connections) filter (where not g.revoked), 0)::int as alloc_connections,
          coalesce(sum(coalesce(g.usage_tags, 0)), 0)::int as used_tags,
          coalesce(sum(coalesce(g.usage_connections, 0)), 0)::int as used_connections,
          coalesce(sum(${PENDING_TAGS}), 0)::int as pending_tags,
          coalesce(sum(${PENDING_CONNECTIONS}), 0)::int as pending_connections,
          floor(p.capacity_tags * p.overdraft_factor::float8 + 1e-9)::int as limit_tags,
          floor(p.capacity_connections * p.overdraft_factor::float8 + 1e-9)::int as limit_connections
        from pools p left join g on g.pool_id = p.id
        group by p.id
      ),
      buckets as (
        select 'minute'::text as resolution, date_trunc('minute', t, 'UTC') as bucket from clock
        union all
        select 'hour'::text, date_trunc('hour', t, 'UTC') from clock
      ),
      rolled as (
        insert into pool_usage_rollup as r (pool_id, resolution, bucket, held_tags, held_connections, alloc_tags, alloc_connections,
          used_tags, used_connections, pending_tags, pending_connections, limit_tags, limit_connections)
        select a.pool_id, b.resolution, b.bucket, a.held_tags, a.held_connections, a.alloc_tags, a.alloc_connections,
          a.used_tags, a.used_connections, a.pending_tags, a.pending_connections, a.limit_tags, a.limit_connections
        from agg a cross join buckets b
        -- One order for every tick: two ticks at once (replicas) lock the same rows in the same
        -- order, so they wait for each other instead of deadlocking.
        order by a.pool_id, b.resolution, b.bucket
        on conflict (pool_id, resolution, bucket) do update set
          held_tags = greatest(r.held_tags, excluded.held_tags),
          held_connections = greatest(r.held_connections, excluded.held_connections),
          alloc_tags = greatest(r.alloc_tags, excluded.alloc_tags),
          alloc_connections = greatest(r.alloc_connections, excluded.alloc_connections),
          used_tags = greatest(r.used_tags, excluded.used_tags),
          used_connections = greatest(r.used_connections, excluded.used_connections),
          pending_tags = greatest(r.pending_tags, excluded.pending_tags),
          pending_connections = greatest(r.pending_connections, excluded.pending_connections),
          limit_tags = greatest(r.limit_tags, excluded.limit_tags),
          limit_connections = greatest(r.limit_connections, excluded.limit_connections)
        returning 1
      ),
      changed as (
        insert into gateway_usage_history (gateway_id, at, online, usage_tags, usage_connections, alloc_tags, alloc_connections, held_tags, held_connections)
        select g.gateway_id, date_trunc('minute', c.t, 'UTC'), g.online, g.usage_tags, g.usage_connections,
          g.alloc_tags, g.alloc_connections, g.held_tags, g.held_connections
        from g cross join clock c
        left join lateral (
          select y.* from gateway_usage_history y where y.gateway_id = g.gateway_id order by y.at desc limit 1
        ) last on true
        where not g.revoked and (last.gateway_id is null
          or (last.online, last.usage_tags, last.usage_connections, last.alloc_tags, last.alloc_connections, last.held_tags, last.held_connections)
             is distinct from (g.online, g.usage_tags, g.usage_connections, g.alloc_tags, g.alloc_connections, g.held_tags, g.held_connections))
        order by g.gateway_id
        on conflict (gateway_id, at) do nothing
        returning 1
      ),
      pruned_pools as (
        delete from pool_usage_rollup x using clock c
        where (x.resolution = 'minute' and x.bucket < c.t - ${RETENTION.minute}::interval)
           or (x.resolution = 'hour' and x.bucket < c.t - ${RETENTION.hour}::interval)
        returning 1
      ),
      pruned_gateways as (
        -- Keeps each gateway's last row before the cutoff: it says what held when the window opened.
        delete from gateway_usage_history x using clock c
        where x.at < c.t - ${RETENTION.gateway}::interval
          and exists (select 1 from gateway_usage_history y
                      where y.gateway_id = x.gateway_id and y.at > x.at and y.at < c.t - ${RETENTION.gateway}::interval)
        returning 1
      )
      select (select count(*) from rolled)::int as "poolRows",
        (select count(*) from changed)::int as "gatewayRows",
        ((select count(*) from pruned_pools) + (select count(*) from pruned_gateways))::int as "pruned"`)) as unknown as TickCounts[];
    return rows[0]!;
  },

  async poolSeries(q: DbOrTx, poolId: string, resolution: 'minute' | 'hour', from: Date): Promise<PoolRollupRow[]> {
    const rows = (await q.execute(sql`
      select bucket, held_tags as "heldTags", held_connections as "heldConnections", alloc_tags as "allocTags",
        alloc_connections as "allocConnections", used_tags as "usedTags", used_connections as "usedConnections",
        pending_tags as "pendingTags", pending_connections as "pendingConnections", limit_tags as "limitTags",
        limit_connections as "limitConnections"
      from pool_usage_rollup
      where pool_id = ${poolId} and resolution = ${resolution} and bucket >= ${from.toISOString()}::timestamptz
      order by bucket`)) as unknown as PoolRollupRow[];
    return rows.map((r) => ({ ...r, bucket: toDate(r.bucket) }));
  },

  /** The gateway's rows after `from`, led by its last row at or before `from` (what held then). */
  async gatewaySeries(q: DbOrTx, gatewayId: string, from: Date): Promise<GatewayHistoryRow[]> {
    const rows = (await q.execute(sql`
      (select at, online, usage_tags as "usageTags", usage_connections as "usageConnections", alloc_tags as "allocTags",
         alloc_connections as "allocConnections", held_tags as "heldTags", held_connections as "heldConnections"
       from gateway_usage_history where gateway_id = ${gatewayId} and at <= ${from.toISOString()}::timestamptz
       order by at desc limit 1)
      union all
      (select at, online, usage_tags, usage_connections, alloc_tags, alloc_connections, held_tags, held_connections
       from gateway_usage_history where gateway_id = ${gatewayId} and at > ${from.toISOString()}::timestamptz
       order by at)
      order by at`)) as unknown as GatewayHistoryRow[];
    return rows.map((r) => ({ ...r, at: toDate(r.at) }));
  },

  async poolExists(q: DbOrTx, poolId: string): Promise<boolean> {
    const rows = (await q.execute(sql`select 1 from pools where id = ${poolId}`)) as unknown as unknown[];
    return rows.length > 0;
  },

  async gatewayExists(q: DbOrTx, gatewayId: string): Promise<boolean> {
    const rows = (await q.execute(sql`select 1 from gateways where id = ${gatewayId}`)) as unknown as unknown[];
    return rows.length > 0;
  },
};
