import { query } from '../../api/client.js';

const sortFields = ['name', 'enrolledAt', 'lastSeenAt', 'usageTags', 'allocTags'] as const;
export type SortField = (typeof sortFields)[number];

export interface GatewayFilters {
  readonly q: string;
  readonly poolId: string;
  readonly online: '' | 'true' | 'false';
  readonly sort: SortField;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  readonly offset: number;
}

export const PAGE_SIZES = [25, 50, 100, 250] as const;

/** The gateways page keeps its filters in the URL, so a view can be bookmarked and shared. */
export function readFilters(p: URLSearchParams): GatewayFilters {
  const sort = p.get('sort');
  const online = p.get('online');
  const limit = Number(p.get('limit'));
  const offset = Number(p.get('offset'));
  return {
    q: p.get('q') ?? '',
    poolId: p.get('poolId') ?? '',
    online: online === 'true' || online === 'false' ? online : '',
    sort: (sortFields as readonly string[]).includes(sort ?? '') ? (sort as SortField) : 'name',
    order: p.get('order') === 'desc' ? 'desc' : 'asc',
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : 50,
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

/** The query string for both the page URL and the API, defaults left out. */
export function filterQuery(f: GatewayFilters): string {
  return query({
    q: f.q.trim(),
    poolId: f.poolId,
    online: f.online,
    sort: f.sort === 'name' ? '' : f.sort,
    order: f.order === 'asc' ? '' : f.order,
    limit: f.limit === 50 ? '' : f.limit,
    offset: f.offset || '',
  });
}

export function apiQuery(f: GatewayFilters): string {
  return query({ q: f.q.trim(), poolId: f.poolId, online: f.online, sort: f.sort, order: f.order, limit: f.limit, offset: f.offset });
}
