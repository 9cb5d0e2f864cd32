import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { rowDecoder } from '../db/row-decoder.js';
import { gateways, leases } from '../db/schema.js';
import { heldByGatewaySql } from '../leases/lease-accounting.js';
import { filterCondition, listOrder, searching, UNINDEXED_NAME, type GatewayListFilter } from './gateway-filter.js';
import type { GatewayLeaseInfo, GatewayRow } from './gateway-store.js';

/**
 * The gateway list's statement in SQL text with its row decoder (ARCHITECTURE.md: raw SQL where
 * measured to matter). At 10,000 gateways the console runs it on every filter change.
 */

export interface GatewayPageRows {
  readonly total: number;
  readonly rows: GatewayRow[];
  readonly info: Map<string, GatewayLeaseInfo>;
}

const HELD = sql.raw(heldByGatewaySql());

/** A row of the list's statement: the gateway's columns, the count, held points, the newest lease. */
type ListRow = Record<string, unknown> & { total: number; held: [number, number] | null; lease: Record<string, unknown> | null };
const decodeGateway = rowDecoder(gateways);
const decodeLease = rowDecoder(leases);

/**
 * A page of the list with each gateway's newest lease and held points, and how many match in
 * all: one statement, one round trip (the console's every filter change at 10,000 gateways). The
 * page is chosen first, in a subquery, so the lease join and the held points cost one probe per
 * row whatever the sort; the count is an uncorrelated subquery, run once; held points are
 * lease-accounting's rule narrowed to the row's gateway. Plain SQL with its decoder: drizzle's
 * builder spent more CPU mapping the 50 rows than the statement took.
 */
export async function listGateways(q: DbOrTx, f: GatewayListFilter): Promise<GatewayPageRows> {
  const run = async (x: DbOrTx) => (await x.execute(listQuery(f))) as unknown as ListRow[];
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
}

/**
 * The list's statement (its plan is tested). The page is chosen first from the narrowest rows
 * that can sort it (ids and the sort key: an index-only scan by name, or a top-N of two columns
 * instead of whole rows), then its rows are read by id; the count is an uncorrelated subquery,
 * run once; the newest lease and held points are one probe per row of the page.
 */
export function listQuery(f: GatewayListFilter): SQL {
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
}
