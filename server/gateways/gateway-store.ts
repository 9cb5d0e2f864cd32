import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { gateways, leases } from '../db/schema.js';
import { heldByGatewaySql, liveLeaseSql, type Points } from '../leases/lease-accounting.js';
import { returnedRow } from '../db/returned-row.js';
import { rowDecoder } from '../db/row-decoder.js';

export type GatewayRow = typeof gateways.$inferSelect;

/** The credential hash an administrator's binding reset leaves: no credential matches it. */
export const BINDING_RESET = 'binding-reset';

/** The gateway's newest lease and what it holds (lease-accounting's rule). */
export interface GatewayLeaseInfo {
  latest: typeof leases.$inferSelect | undefined;
  held: Points;
}

const HELD = sql.raw(heldByGatewaySql());

/** A row of the list's statement: the gateway's columns, the count, held points, the newest lease. */
type ListRow = Record<string, unknown> & { total: number; held: [number, number] | null; lease: Record<string, unknown> | null };
const decodeGateway = rowDecoder(gateways);
const decodeLease = rowDecoder(leases);
/** A search the trigram index can answer (three characters or more). */
const searching = (f: GatewayFilter): boolean => (f.q?.length ?? 0) >= 3;
/**
 * The table's sort columns, the name as an expression no index provides: a search's matches come
 * from the trigram index and are sorted, instead of a walk of the name index past every earlier
 * name (the planner assumes matches spread evenly; "berlin-robot" sits after a fifth of the fleet).
 */
const UNINDEXED_NAME = { ...pickSortColumns(), name: sql`(${gateways.name} || '')` };

export interface GatewayFilter {
  poolId?: string | undefined;
  codeId?: string | undefined;
  online?: boolean | undefined;
  q?: string | undefined;
  sort?: 'name' | 'enrolledAt' | 'lastSeenAt' | 'usageTags' | 'allocTags' | undefined;
  order?: 'asc' | 'desc' | undefined;
}

export interface GatewayListFilter extends GatewayFilter {
  limit: number;
  offset: number;
}

export const gatewayStore = {
  async get(q: DbOrTx, id: string): Promise<GatewayRow | undefined> {
    const [row] = await q.select().from(gateways).where(eq(gateways.id, id));
    return row;
  },
  async lock(q: DbOrTx, id: string): Promise<GatewayRow | undefined> {
    const [row] = await q.select().from(gateways).where(eq(gateways.id, id)).for('update');
    return row;
  },
  async findByCodeAndHardware(q: DbOrTx, codeId: string, hardwareId: string): Promise<GatewayRow | undefined> {
    const [row] = await q
      .select()
      .from(gateways)
      .where(and(eq(gateways.activationCodeId, codeId), eq(gateways.hardwareId, hardwareId)))
      .for('update');
    return row;
  },
  /** The enrolled (not decommissioned) gateway of this hardware on the whole controller, if any. */
  async findLiveByHardware(q: DbOrTx, hardwareId: string): Promise<GatewayRow | undefined> {
    const [row] = await q
      .select()
      .from(gateways)
      .where(and(eq(gateways.hardwareId, hardwareId), isNull(gateways.revokedAt)))
      .orderBy(sql`${gateways.enrolledAt} desc`)
      .limit(1);
    return row;
  },
  async countByCode(q: DbOrTx, codeId: string): Promise<number> {
    const [r] = await q.select({ n: sql<number>`count(*)::int` }).from(gateways).where(eq(gateways.activationCodeId, codeId));
    return r?.n ?? 0;
  },
  async listByCode(q: DbOrTx, codeId: string): Promise<GatewayRow[]> {
    return q.select().from(gateways).where(eq(gateways.activationCodeId, codeId)).orderBy(gateways.enrolledAt);
  },
  async insert(q: DbOrTx, row: typeof gateways.$inferInsert): Promise<GatewayRow> {
    return returnedRow(await q.insert(gateways).values(row).returning(), 'gateway insert');
  },
  async update(q: DbOrTx, id: string, patch: Partial<typeof gateways.$inferInsert>): Promise<GatewayRow> {
    return returnedRow(await q.update(gateways).set(patch).where(eq(gateways.id, id)).returning(), `gateway ${id} update`);
  },
  /** Updates a gateway that is not decommissioned; undefined when it is (or does not exist). */
  async updateActive(q: DbOrTx, id: string, patch: Partial<typeof gateways.$inferInsert>): Promise<GatewayRow | undefined> {
    const [row] = await q.update(gateways).set(patch).where(and(eq(gateways.id, id), isNull(gateways.revokedAt))).returning();
    return row;
  },
  async idsInPool(q: DbOrTx, poolId: string): Promise<string[]> {
    const rows = await q
      .select({ id: gateways.id })
      .from(gateways)
      .where(and(eq(gateways.poolId, poolId), isNull(gateways.revokedAt)));
    return rows.map((r) => r.id);
  },
  async hasLiveLease(q: DbOrTx, gatewayId: string): Promise<boolean> {
    const [row] = await q
      .select({ id: leases.id })
      .from(leases)
      .where(and(eq(leases.gatewayId, gatewayId), sql.raw(liveLeaseSql('leases'))))
      .limit(1);
    return row !== undefined;
  },
  async leaseInfo(q: DbOrTx, gatewayId: string): Promise<GatewayLeaseInfo> {
    return (await gatewayStore.leaseInfoMany(q, [gatewayId])).get(gatewayId) ?? { latest: undefined, held: { tags: 0, connections: 0 } };
  },
  /**
   * A page of the list with each gateway's newest lease and held points, and how many match in
   * all: one statement, one round trip (the console's every filter change at 10,000 gateways). The
   * page is chosen first, in a subquery, so the lease join and the held points cost one probe per
   * row whatever the sort; the count is an uncorrelated subquery, run once; held points are
   * lease-accounting's rule narrowed to the row's gateway. Plain SQL with its decoder: drizzle's
   * builder spent more CPU mapping the 50 rows than the statement took.
   */
  async list(q: DbOrTx, f: GatewayListFilter): Promise<{ total: number; rows: GatewayRow[]; info: Map<string, GatewayLeaseInfo> }> {
    const run = async (x: DbOrTx) => (await x.execute(gatewayStore.listQuery(f))) as unknown as ListRow[];
    // PostgreSQL prices an ILIKE like any operator, far below what it costs on each row, so for a
    // search it picks a scan of the fleet over the trigram index (at 10,000 gateways, the count of
    // "berlin-robot": 27.7 ms by scan, 4.0 ms by the index) or walks the name index past every
    // earlier name. Scans are priced out for the statement (its own transaction, SET LOCAL); with
    // no usable index (a term under three characters, or no pg_trgm) it still scans.
    const raw = searching(f) ? await q.transaction(async (tx) => (await tx.execute(sql`set local enable_seqscan = off`), run(tx))) : await run(q);
    const rows: GatewayRow[] = [];
    const info = new Map<string, GatewayLeaseInfo>();
    for (const r of raw) {
      const g = decodeGateway(r);
      rows.push(g);
      info.set(g.id, { latest: r.lease ? decodeLease(r.lease) : undefined, held: { tags: r.held?.[0] ?? 0, connections: r.held?.[1] ?? 0 } });
    }
    // A page past the end has no row to carry the count: ask for it alone.
    const total = raw[0]?.total ?? (await q.select({ n: sql<number>`count(*)::int` }).from(gateways).where(filterCondition(f)))[0]?.n ?? 0;
    return { total, rows, info };
  },
  /**
   * The list's statement (its plan is tested). The page is chosen first from the narrowest rows
   * that can sort it (ids and the sort key: an index-only scan by name, or a top-N of two columns
   * instead of whole rows), then its rows are read by id; the count is an uncorrelated subquery,
   * run once; the newest lease and held points are one probe per row of the page.
   */
  listQuery(f: GatewayListFilter): SQL {
    const cond = filterCondition(f) ?? sql`true`;
    return sql`
      select ${gateways}.*,
        (select count(*)::int from ${gateways} where ${cond}) as total,
        (select array[x.held_tags, x.held_connections] from (${HELD}) x where x.gateway_id = ${gateways.id}) as held,
        to_jsonb(l) as lease
      from (
        select ${gateways.id} as id from ${gateways} where ${cond}
        order by ${sql.join(listOrder(f, searching(f) ? UNINDEXED_NAME : gateways), sql`, `)}
        limit ${f.limit} offset ${f.offset}
      ) page
      join ${gateways} on ${gateways.id} = page.id
      left join ${leases} l on l.gateway_id = ${gateways.id} and l.seq = ${gateways.leaseSeq}
      order by ${sql.join(listOrder(f, gateways), sql`, `)}`;
  },
  /** Every id the filter matches (in list order, at most `max`) and how many match in all. */
  async ids(q: DbOrTx, f: GatewayFilter, max: number): Promise<{ total: number; ids: string[] }> {
    const cond = filterCondition(f);
    const [rows, [count]] = await Promise.all([
      q.select({ id: gateways.id }).from(gateways).where(cond).orderBy(...listOrder(f, gateways)).limit(max),
      q.select({ n: sql<number>`count(*)::int` }).from(gateways).where(cond),
    ]);
    return { total: count?.n ?? 0, ids: rows.map((r) => r.id) };
  },
  /** Latest lease and held points for many gateways in two statements sent together. */
  async leaseInfoMany(q: DbOrTx, ids: readonly string[]): Promise<Map<string, GatewayLeaseInfo>> {
    const out = new Map<string, GatewayLeaseInfo>();
    if (ids.length === 0) return out;
    const idList = sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);
    // The gateway row holds its latest seq: one index probe each, however long the lease history.
    // Both at once: one round trip less on every page of the gateway list.
    const [latest, held] = await Promise.all([
      q
        .select()
        .from(leases)
        .where(sql`(${leases.gatewayId}, ${leases.seq}) in (select g.id, g.lease_seq from ${gateways} g where g.id in (${idList}))`),
      q.execute(sql`
      select gateway_id, held_tags, held_connections from (${HELD}) x where x.gateway_id in (${idList})`) as unknown as Promise<{ gateway_id: string; held_tags: number; held_connections: number }[]>,
    ]);
    const latestOf = new Map(latest.map((l) => [l.gatewayId, l]));
    const heldOf = new Map(held.map((h) => [h.gateway_id, { tags: h.held_tags, connections: h.held_connections }]));
    for (const id of ids) out.set(id, { latest: latestOf.get(id), held: heldOf.get(id) ?? { tags: 0, connections: 0 } });
    return out;
  },
};

/** What can occur in a uuid's text, in any case (ilike). */
const UUID_FRAGMENT = /^[0-9a-f-]+$/i;

/** One filter for the list, the selection and the export, so "all matching" means the same rows. */
function filterCondition(f: GatewayFilter): SQL | undefined {
  const where: SQL[] = [];
  if (f.poolId) where.push(eq(gateways.poolId, f.poolId));
  if (f.codeId) where.push(eq(gateways.activationCodeId, f.codeId));
  if (f.online !== undefined) where.push(eq(gateways.online, f.online));
  if (f.q) {
    const like = `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // An id's text is lower-case hex and hyphens: a search with any other character cannot match
    // it, and leaving the clause out spares a uuid-to-text conversion and a match on every row of
    // the scan. Same rows either way.
    where.push(
      UUID_FRAGMENT.test(f.q)
        ? sql`(${gateways.name} ilike ${like} or ${gateways.id}::text ilike ${like} or ${gateways.hardwareId} ilike ${like})`
        : sql`(${gateways.name} ilike ${like} or ${gateways.hardwareId} ilike ${like})`,
    );
  }
  return where.length ? and(...where) : undefined;
}

/** What the list sorts by: the table's columns, or the same columns of a subquery over it. */
type SortableColumns = Pick<typeof gateways, 'id' | 'name' | 'enrolledAt' | 'lastSeenAt' | 'usageTags' | 'allocTags'> | typeof UNINDEXED_NAME;

function pickSortColumns() {
  const { id, enrolledAt, lastSeenAt, usageTags, allocTags } = gateways;
  return { id, enrolledAt, lastSeenAt, usageTags, allocTags };
}

/** Sort columns that are never null: ordered with PostgreSQL's default null placement. */
const notNullSorts = new Set<GatewayFilter['sort']>(['name', 'enrolledAt', 'allocTags']);

function listOrder(f: GatewayFilter, cols: SortableColumns): [SQL, SQL] {
  const sort = f.sort ?? 'name';
  const column = cols[sort];
  const desc = f.order === 'desc';
  // Name, either way, reads gateways_name_idx (name, id) forwards or backwards: the tie-break
  // follows the direction and no nulls clause differs from the index's, so no sort is needed.
  if (notNullSorts.has(sort)) return desc ? [sql`${column} desc`, sql`${cols.id} desc`] : [sql`${column} asc`, sql`${cols.id} asc`];
  return [desc ? sql`${column} desc nulls last` : sql`${column} asc nulls last`, sql`${cols.id} asc`];
}
