import type { Sql, TransactionSql } from 'postgres';
import type { EndedLease } from './lease-store.js';
import { heldByGatewaySql, liveLeaseSql, notEndedSql, type Points } from './lease-accounting.js';
import type { Contender, GrantMode } from './grant-policy.js';

/*
 * Timestamps cross as epoch milliseconds: drizzle turns off postgres.js's date parsing and
 * serialising on the shared client, so a Date would arrive as a string and leave unconverted.
 *
 * The lease engine's hot path in plain SQL: a constant number of statements per batch of
 * gateways instead of several per lease. Rows travel as one JSON parameter each way, which keeps
 * every statement's text (and PostgreSQL's plan cache entry) the same whatever the batch size.
 * Gateway rows are always locked in id order, so concurrent batches cannot deadlock each other.
 */

/** A gateway locked for a grant, with what its lease needs from the pool. */
export interface GrantTarget {
  readonly id: string;
  readonly poolId: string;
  readonly poolName: string;
  readonly poolPlugins: readonly string[];
  readonly leaseTtlSeconds: number;
  /** The pool's on-disconnect grace, which its leases carry; undefined for on-expiry pools. */
  readonly disconnectGraceSec: number | undefined;
  readonly licenseExpiresAt: Date | null;
  /** The pool license's issue date and customer, shown on the gateway's license page. */
  readonly licenseIssuedAt: Date | null;
  readonly licenseCustomer: string | null;
  readonly hardwareId: string;
  readonly leaseSeq: number;
  readonly allocTags: number;
  readonly allocConnections: number;
  readonly allocPlugins: readonly string[];
  readonly online: boolean;
  readonly revoked: boolean;
  readonly priority: number;
  readonly pendingSinceMs: number | null;
  readonly capacity: Points;
  readonly overdraftFactor: number;
  /** A forced smaller license left it above its limit: it grants nothing new until it fits again. */
  readonly overCommitted: boolean;
}

/** One lease to persist, with its audit row. */
export interface NewLease {
  readonly id: string;
  readonly gatewayId: string;
  readonly poolId: string;
  readonly seq: number;
  readonly kid: string;
  readonly tags: number;
  readonly connections: number;
  readonly plugins: readonly string[];
  readonly iat: number;
  readonly exp: number;
  /** The disconnectGraceSec claim, if the lease carries one. */
  readonly disconnectGraceSec?: number;
  /** An offline borrow (issue 21). */
  readonly borrow?: boolean;
  /** Granted in an over-committed pool: the keep guard checks it at commit (keep-guard.ts). */
  readonly overCommittedKeep?: boolean;
  readonly auditActor: string;
  readonly auditAction: string;
  readonly auditAfter: unknown;
  /** The grant left part of the allocation pending: the gateway keeps (or takes) its place in the queue; null: unchanged. */
  readonly pending: boolean | null;
}

export interface AckRequest {
  readonly gatewayId: string;
  readonly jti: string;
}

/** What an acknowledgement batch found and changed. */
export interface AckResult {
  /** The acknowledged leases that exist for their gateway, with whether they were still live. */
  readonly found: readonly { id: string; gatewayId: string; poolId: string; tags: number; connections: number; live: boolean }[];
  /** Older live leases that stopped counting, with the jti whose acknowledgement ended them. */
  readonly superseded: readonly (EndedLease & { by: string })[];
}

interface TargetRow {
  id: string;
  pool_id: string;
  pool_name: string;
  pool_plugins: string[];
  lease_ttl_seconds: number;
  disconnect_grace_sec: number | null;
  license_expires_ms: number | null;
  license_issued_ms: number | null;
  license_customer: string | null;
  hardware_id: string;
  lease_seq: string;
  alloc_tags: number;
  alloc_connections: number;
  alloc_plugins: string[];
  online: boolean;
  revoked: boolean;
  priority: number;
  pending_since_ms: number | null;
  capacity_tags: number;
  capacity_connections: number;
  overdraft_factor: number;
  over_committed: boolean;
}

/** The grant engine judges liveness at its own clock, bound once per statement. */
const HELD_AT_CLOCK = heldByGatewaySql('(select t from clock)');
/** What gateways will still hold at a later instant (a grant in an over-committed pool keeps no more). */
const HELD_AT_LATER = heldByGatewaySql('(select t from later)');
const LIVE_AT_CLOCK = liveLeaseSql('l', '(select t from clock)');
const NOT_ENDED_O = notEndedSql('o');

export const leaseBatchStore = {
  /**
   * Locks the pools of these gateways (FOR NO KEY UPDATE, in id order: the lock and order of an
   * allocation change, so grants and allocation changes of a pool serialise and cannot deadlock).
   * Every increase of a pool's held points happens under this lock.
   */
  async lockPoolsForGrant(tx: TransactionSql, gatewayIds: readonly string[]): Promise<{ id: string; grantMode: GrantMode }[]> {
    const rows = await tx<{ id: string; grant_mode: GrantMode }[]>`
      select id, grant_mode from "pools"
      where id in (select pool_id from "gateways" where id = any(${gatewayIds as string[]}::uuid[]))
      order by id
      for no key update`;
    return rows.map((r) => ({ id: r.id, grantMode: r.grant_mode }));
  },

  /**
   * What the pools hold at `nowMs`, who waits in them, and what each of `gatewayIds` holds, read in
   * one statement (one snapshot) after the pools and gateways are locked, so a gateway's held
   * points are part of its pool's total and nothing read here can grow before the commit. `keep`:
   * what those gateways will still hold at a later instant (over-committed pools, see grant-batch).
   */
  async readHeld(
    tx: TransactionSql,
    poolIds: readonly string[],
    gatewayIds: readonly string[],
    nowMs: number,
    keep: { ids: readonly string[]; atMs: number } = { ids: [], atMs: nowMs },
  ): Promise<{ pools: Map<string, { held: Points; waiting: Contender[] }>; gateways: Map<string, Points>; keeps: Map<string, Points> }> {
    const rows = await tx<
      { kind: 'total' | 'waiting' | 'target' | 'keep'; pool_id: string; gateway_id: string | null; priority: number; since_ms: number | null; alloc_tags: number; alloc_connections: number; held_tags: string; held_connections: string }[]
    >`
      with clock as (select to_timestamp(${nowMs}::float8 / 1000) as t),
      later as (select to_timestamp(${keep.atMs}::float8 / 1000) as t),
      h as (select * from (${tx.unsafe(HELD_AT_CLOCK)}) x where x.pool_id = any(${poolIds as string[]}::uuid[])),
      k as (select * from (${tx.unsafe(HELD_AT_LATER)}) x where x.gateway_id = any(${keep.ids as string[]}::uuid[]))
      select 'total' as kind, h.pool_id, null::uuid as gateway_id, 0 as priority, null::float8 as since_ms, 0 as alloc_tags, 0 as alloc_connections,
        sum(h.held_tags)::bigint as held_tags, sum(h.held_connections)::bigint as held_connections
      from h group by h.pool_id
      union all
      select 'waiting', h.pool_id, h.gateway_id, g.priority, (extract(epoch from g.pending_since) * 1000)::float8, h.alloc_tags, h.alloc_connections,
        h.held_tags, h.held_connections
      from h join "gateways" g on g.id = h.gateway_id
      where g.pending_since is not null and h.online and not h.revoked
        and (h.alloc_tags > h.held_tags or h.alloc_connections > h.held_connections)
      union all
      select 'target', h.pool_id, h.gateway_id, 0, null, 0, 0, h.held_tags, h.held_connections
      from h where h.gateway_id = any(${gatewayIds as string[]}::uuid[])
      union all
      select 'keep', k.pool_id, k.gateway_id, 0, null, 0, 0, k.held_tags, k.held_connections from k`;
    const pools = new Map<string, { held: Points; waiting: Contender[] }>(poolIds.map((id) => [id, { held: { tags: 0, connections: 0 }, waiting: [] }]));
    const gateways = new Map<string, Points>();
    const keeps = new Map<string, Points>();
    for (const r of rows) {
      const held = { tags: Number(r.held_tags), connections: Number(r.held_connections) };
      if (r.kind === 'target') gateways.set(r.gateway_id!, held);
      else if (r.kind === 'keep') keeps.set(r.gateway_id!, held);
      else if (r.kind === 'total') pools.get(r.pool_id)!.held = held;
      else {
        pools.get(r.pool_id)!.waiting.push({
          gatewayId: r.gateway_id!,
          priority: r.priority,
          sinceMs: r.since_ms ?? nowMs,
          allocation: { tags: r.alloc_tags, connections: r.alloc_connections },
          held,
          granting: false,
        });
      }
    }
    return { pools, gateways, keeps };
  },

  /** Locks the gateways (FOR UPDATE, in id order, after their pools) and reads their pools. Missing ids are absent. */
  async lockForGrant(tx: TransactionSql, ids: readonly string[]): Promise<GrantTarget[]> {
    const rows = await tx<TargetRow[]>`
      select g.id, g.pool_id, p.name as pool_name, p.plugins as pool_plugins, p.lease_ttl_seconds,
        case when p.reclaim = 'on-disconnect' then p.disconnect_grace_seconds end as disconnect_grace_sec,
        (extract(epoch from p.license_expires_at) * 1000)::float8 as license_expires_ms,
        (extract(epoch from l.issued_at) * 1000)::float8 as license_issued_ms, l.customer as license_customer,
        p.capacity_tags, p.capacity_connections, p.overdraft_factor, p.over_committed,
        g.hardware_id, g.lease_seq, g.alloc_tags, g.alloc_connections, g.alloc_plugins, g.online, g.revoked_at is not null as revoked,
        g.priority, (extract(epoch from g.pending_since) * 1000)::float8 as pending_since_ms
      from "gateways" g join "pools" p on p.id = g.pool_id
      left join "pool_licenses" l on l.id = p.license_id
      where g.id = any(${ids as string[]}::uuid[])
      order by g.id
      for update of g`;
    return rows.map((r) => ({
      id: r.id,
      poolId: r.pool_id,
      poolName: r.pool_name,
      poolPlugins: r.pool_plugins,
      leaseTtlSeconds: r.lease_ttl_seconds,
      disconnectGraceSec: r.disconnect_grace_sec ?? undefined,
      licenseExpiresAt: r.license_expires_ms === null ? null : new Date(r.license_expires_ms),
      licenseIssuedAt: r.license_issued_ms === null ? null : new Date(r.license_issued_ms),
      licenseCustomer: r.license_customer,
      hardwareId: r.hardware_id,
      leaseSeq: Number(r.lease_seq),
      allocTags: r.alloc_tags,
      allocConnections: r.alloc_connections,
      allocPlugins: r.alloc_plugins,
      online: r.online,
      revoked: r.revoked,
      priority: r.priority,
      pendingSinceMs: r.pending_since_ms,
      capacity: { tags: r.capacity_tags, connections: r.capacity_connections },
      overdraftFactor: r.overdraft_factor,
      overCommitted: r.over_committed,
    }));
  },

  /** Inserts the leases and their audit rows and advances each gateway's seq, in one statement. */
  async insertGranted(tx: TransactionSql, leases: readonly NewLease[], seenAtMs: number): Promise<void> {
    if (leases.length === 0) return;
    const rows = JSON.stringify(
      leases.map((l) => ({
        id: l.id,
        gw: l.gatewayId,
        pool: l.poolId,
        seq: l.seq,
        kid: l.kid,
        tags: l.tags,
        conns: l.connections,
        plugins: l.plugins,
        iat: l.iat,
        exp: l.exp,
        grace: l.disconnectGraceSec ?? null,
        borrow: l.borrow === true,
        keep: l.overCommittedKeep === true,
        actor: l.auditActor,
        action: l.auditAction,
        after: l.auditAfter,
        pend: l.pending,
      })),
    );
    await tx`
      with v as (
        select * from json_to_recordset(${rows}::json) as v(id uuid, gw uuid, pool uuid, seq bigint, kid text, tags int, conns int,
          plugins text[], iat bigint, exp bigint, grace int, borrow boolean, keep boolean, actor text, action text, after jsonb, pend boolean)
      ), ins as (
        insert into "leases" (id, gateway_id, pool_id, seq, kid, tags, connections, plugins, issued_at, expires_at, disconnect_grace_seconds, borrow, over_committed_keep)
        select id, gw, pool, seq, kid, tags, conns, plugins, to_timestamp(iat), to_timestamp(exp), grace, borrow, keep from v
      ), upd as (
        update "gateways" g set lease_seq = v.seq, last_seen_at = to_timestamp(${seenAtMs}::float8 / 1000),
          pending_since = case when v.pend is null then g.pending_since when v.pend then coalesce(g.pending_since, to_timestamp(${seenAtMs}::float8 / 1000)) end
        from v where g.id = v.gw
      )
      insert into "audit_events" (actor, action, pool_id, gateway_id, subject, after)
      select actor, action, pool, gw, id::text, after from v`;
  },

  /** Locks the gateways in id order; returns the ids that exist. */
  async lockGateways(tx: TransactionSql, ids: readonly string[]): Promise<Set<string>> {
    const rows = await tx<{ id: string }[]>`select id from "gateways" where id = any(${ids as string[]}::uuid[]) order by id for update`;
    return new Set(rows.map((r) => r.id));
  },

  /**
   * Marks each requested lease acknowledged if it is still live at `now`, and ends every older
   * live lease of its gateway (superseded), in one statement. At most one request per gateway.
   */
  async acknowledge(tx: TransactionSql, requests: readonly AckRequest[], nowMs: number): Promise<AckResult> {
    const req = JSON.stringify(requests.map((r) => ({ gw: r.gatewayId, jti: r.jti })));
    const rows = await tx<
      { kind: 'found' | 'superseded'; id: string; gateway_id: string; pool_id: string; seq: string; tags: number; connections: number; live: boolean | null; by_jti: string | null }[]
    >`
      with clock as (select to_timestamp(${nowMs}::float8 / 1000) as t),
      req as (
        select * from json_to_recordset(${req}::json) as v(gw uuid, jti uuid)
      ), found as (
        select l.id, l.gateway_id, l.pool_id, l.seq, l.tags, l.connections, l.state,
          ${tx.unsafe(LIVE_AT_CLOCK)} as live
        from "leases" l join req on l.id = req.jti and l.gateway_id = req.gw
      ), acked as (
        update "leases" l set state = 'acknowledged', acknowledged_at = now()
        from found f where l.id = f.id and f.live and f.state = 'issued'
      ), superseded as (
        update "leases" o set state = 'superseded', ended_at = now()
        from found f
        where f.live and o.gateway_id = f.gateway_id and o.seq < f.seq and ${tx.unsafe(NOT_ENDED_O)}
        returning o.id, o.gateway_id, o.pool_id, o.seq, o.tags, o.connections, f.id as by_jti
      )
      select 'found' as kind, id, gateway_id, pool_id, seq, tags, connections, live, null::uuid as by_jti from found
      union all
      select 'superseded', id, gateway_id, pool_id, seq, tags, connections, null, by_jti from superseded`;
    const found: AckResult['found'][number][] = [];
    const superseded: AckResult['superseded'][number][] = [];
    for (const r of rows) {
      if (r.kind === 'found') {
        found.push({ id: r.id, gatewayId: r.gateway_id, poolId: r.pool_id, tags: r.tags, connections: r.connections, live: r.live === true });
      } else {
        superseded.push({ id: r.id, gatewayId: r.gateway_id, poolId: r.pool_id, seq: Number(r.seq), tags: r.tags, connections: r.connections, by: r.by_jti! });
      }
    }
    return { found, superseded };
  },

  /**
   * Marks gateways online over their transport, in one statement (atomic on its own: no
   * BEGIN/COMMIT round trips). Rows already so are left alone (no lock, no write); a `seen` request
   * (any message but hello) changes only a gateway shown offline. A `gateway.online` audit row is
   * written for each gateway that was offline, once: a transport change is no presence change.
   * Returns the gateways that changed, locked in id order.
   */
  async markOnline(
    sql: Sql,
    requests: readonly { gatewayId: string; transport: string | null; seen: boolean }[],
    nowMs: number,
  ): Promise<{ id: string; poolId: string; name: string; transport: string | null }[]> {
    const req = JSON.stringify(requests.map((r) => ({ gw: r.gatewayId, transport: r.transport, seen: r.seen })));
    const rows = await sql<{ id: string; pool_id: string; name: string; transport: string | null }[]>`
      with req as (
        select * from json_to_recordset(${req}::json) as v(gw uuid, transport text, seen boolean)
      ), locked as (
        select g.id, g.online as was_online from "gateways" g join req on g.id = req.gw
        where g.revoked_at is null and (not g.online or (not req.seen and g.transport is distinct from req.transport))
        order by g.id
        for update of g
      ), changed as (
        update "gateways" g set online = true, transport = req.transport,
          presence_changed_at = to_timestamp(${nowMs}::float8 / 1000), last_seen_at = to_timestamp(${nowMs}::float8 / 1000)
        from req join locked on locked.id = req.gw
        where g.id = req.gw
        returning g.id, g.pool_id, g.name, g.transport, locked.was_online
      ), audited as (
        insert into "audit_events" (actor, action, pool_id, gateway_id, subject, before, after)
        select 'system:presence', 'gateway.online', pool_id, id, name, null, jsonb_build_object('transport', transport) from changed where not was_online
      )
      select id, pool_id, name, transport from changed`;
    return rows.map((r) => ({ id: r.id, poolId: r.pool_id, name: r.name, transport: r.transport }));
  },

  async appendAudit(
    tx: TransactionSql,
    entries: readonly { actor: string; action: string; poolId: string; gatewayId: string; subject: string; before: unknown; after: unknown }[],
  ): Promise<void> {
    if (entries.length === 0) return;
    await tx`
      insert into "audit_events" (actor, action, pool_id, gateway_id, subject, before, after)
      select actor, action, pool, gw, subject, before, after
      from json_to_recordset(${JSON.stringify(entries.map((e) => ({ ...e, pool: e.poolId, gw: e.gatewayId })))}::json)
        as v(actor text, action text, pool uuid, gw uuid, subject text, before jsonb, after jsonb)`;
  },
};
