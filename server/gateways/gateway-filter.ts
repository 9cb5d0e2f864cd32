import { and, eq, sql, type SQL } from 'drizzle-orm';
import { gateways } from '../db/schema.js';

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

/** A search the trigram index can answer (three characters or more). */
export const searching = (f: GatewayFilter): boolean => (f.q?.length ?? 0) >= 3;

/** What can occur in a uuid's text, in any case (ilike). */
const UUID_FRAGMENT = /^[0-9a-f-]+$/i;

/** One filter for the list, the selection and the export, so "all matching" means the same rows. */
export function filterCondition(f: GatewayFilter): SQL | undefined {
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

/**
 * The table's sort columns, the name as an expression no index provides: a search's matches come
 * from the trigram index and are sorted, instead of a walk of the name index past every earlier
 * name (the planner assumes matches spread evenly; "berlin-robot" sits after a fifth of the fleet).
 */
export const UNINDEXED_NAME = {
  id: gateways.id,
  enrolledAt: gateways.enrolledAt,
  lastSeenAt: gateways.lastSeenAt,
  usageTags: gateways.usageTags,
  allocTags: gateways.allocTags,
  name: sql`(${gateways.name} || '')`,
};

/** What the list sorts by: the table's columns, or the same with the name unindexed. */
type SortableColumns = Pick<typeof gateways, 'id' | 'name' | 'enrolledAt' | 'lastSeenAt' | 'usageTags' | 'allocTags'> | typeof UNINDEXED_NAME;

/** Sort columns that are never null: ordered with PostgreSQL's default null placement. */
const notNullSorts = new Set<GatewayFilter['sort']>(['name', 'enrolledAt', 'allocTags']);

export function listOrder(f: GatewayFilter, cols: SortableColumns): [SQL, SQL] {
  const sort = f.sort ?? 'name';
  const column = cols[sort];
  const desc = f.order === 'desc';
  // Name, either way, reads gateways_name_idx (name, id) forwards or backwards: the tie-break
  // follows the direction and no nulls clause differs from the index's, so no sort is needed.
  if (notNullSorts.has(sort)) return desc ? [sql`${column} desc`, sql`${cols.id} desc`] : [sql`${column} asc`, sql`${cols.id} asc`];
  return [desc ? sql`${column} desc nulls last` : sql`${column} asc nulls last`, sql`${cols.id} asc`];
}
