import { useMemo, useState } from 'preact/hooks';
import type { GatewayPage, GatewayView, PoolView } from '../../api/types.js';
import { Empty, Pager } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan } from '../../context.js';
import { useNow, useQuery } from '../../hooks.js';
import { navigate } from '../../router.js';
import { AllocationEditor } from './allocation-editor.js';
import { apiQuery, filterQuery, PAGE_SIZES, readFilters, type GatewayFilters, type SortField } from './filters.js';
import { GatewayRow } from './gateway-row.js';

const columns: { label: string; sort?: SortField; title?: string }[] = [
  { label: 'Gateway', sort: 'name' },
  { label: 'Pool' },
  { label: 'Presence', sort: 'lastSeenAt', title: 'sort by last seen' },
  { label: 'Tags used / allocated', sort: 'usageTags', title: 'sort by tags in use' },
  { label: 'Connections' },
  { label: 'Lease left' },
  { label: 'Plugins' },
  { label: '' },
];

/** Every gateway, searched, sorted and paged by the controller, so 10,000 of them stay quick. */
export function GatewaysPage({ query }: { query: URLSearchParams }) {
  const canEdit = useCan('operator');
  const f = readFilters(query);
  const key = apiQuery(f);
  const page = useQuery(key, (api, signal) => api.get<GatewayPage>(`/gateways${key}`, signal), { refreshOn: () => true, pollMs: 10_000 });
  const pools = useQuery('pools', (api, signal) => api.get<PoolView[]>('/pools', signal), { refreshOn: (c) => c.pools === null || c.pools.length > 0 });
  const poolById = useMemo(() => new Map((pools.data ?? []).map((p) => [p.id, p])), [pools.data]);
  const [editing, setEditing] = useState<GatewayView | undefined>();
  const now = useNow();
  const elapsed = page.receivedAt ? Math.max(0, (now - page.receivedAt) / 1000) : 0;

  const set = (patch: Partial<GatewayFilters>) => navigate(`/gateways${filterQuery({ ...f, offset: 0, ...patch })}`, { replace: true });
  const sortBy = (field: SortField) => set({ sort: field, order: f.sort === field && f.order === 'asc' ? 'desc' : 'asc' });
  const items = page.data?.items ?? [];
  const total = page.data?.total ?? 0;

  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Gateways</h1>
          <p class="muted">Presence, use against allocation and lease of every managed gateway. Changes appear live.</p>
        </div>
      </div>
      <div class="toolbar">
        <input
          class="search"
          type="search"
          name="q"
          placeholder="Search name, gateway id or hardware id"
          value={f.q}
          onInput={(e) => set({ q: e.currentTarget.value })}
          aria-label="Search gateways"
        />
        <select name="poolId" value={f.poolId} onChange={(e) => set({ poolId: e.currentTarget.value })} aria-label="Pool">
          <option value="">All pools</option>
          {(pools.data ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <select name="online" value={f.online} onChange={(e) => set({ online: e.currentTarget.value as GatewayFilters['online'] })} aria-label="Presence">
          <option value="">Online and offline</option>
          <option value="true">Online only</option>
          <option value="false">Offline only</option>
        </select>
        <select
          name="sort"
          value={`${f.sort}:${f.order}`}
          onChange={(e) => {
            const [sort, order] = e.currentTarget.value.split(':') as [SortField, 'asc' | 'desc'];
            set({ sort, order });
          }}
          aria-label="Sort"
        >
          <option value="name:asc">Name A–Z</option>
          <option value="name:desc">Name Z–A</option>
          <option value="lastSeenAt:desc">Recently seen</option>
          <option value="enrolledAt:desc">Newest enrolled</option>
          <option value="enrolledAt:asc">Oldest enrolled</option>
          <option value="usageTags:desc">Most tags in use</option>
          <option value="allocTags:desc">Most tags allocated</option>
          <option value="allocTags:asc">Fewest tags allocated</option>
        </select>
        <span class={`spinner${page.loading ? ' on' : ''}`} aria-hidden="true" />
      </div>
      <ProblemNotice error={page.error} />
      <div class="table-wrap">
        <table class="table gateways" data-key={page.shownKey ?? ''} data-state={page.loading ? 'loading' : 'ready'} data-total={total}>
          <thead>
            <tr>
              {columns.map((c) => (
                <th
                  key={c.label}
                  title={c.title}
                  scope="col"
                  aria-sort={c.sort && f.sort === c.sort ? (f.order === 'asc' ? 'ascending' : 'descending') : c.sort ? 'none' : undefined}
                >
                  {c.sort ? (
                    <button type="button" class={`sort${f.sort === c.sort ? ' sorted' : ''}`} onClick={() => sortBy(c.sort!)}>
                      {c.label}
                      <span class="sort-arrow" aria-hidden="true">
                        {f.sort === c.sort ? (f.order === 'asc' ? '▲' : '▼') : '↕'}
                      </span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((g) => (
              <GatewayRow key={g.id} g={g} poolName={poolById.get(g.poolId)?.name} elapsed={elapsed} canEdit={canEdit} onEdit={setEditing} />
            ))}
          </tbody>
        </table>
        {page.data && items.length === 0 ? (
          <Empty>{f.q || f.poolId || f.online ? 'No gateway matches these filters.' : 'No gateways yet. Create an activation code and enroll an agent with it.'}</Empty>
        ) : null}
      </div>
      <div class="table-foot">
        <label class="muted small">
          Rows per page{' '}
          <select name="limit" value={String(f.limit)} onChange={(e) => set({ limit: Number(e.currentTarget.value) })}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <Pager offset={f.offset} limit={f.limit} total={total} onPage={(offset) => set({ offset })} />
      </div>
      {editing ? (
        <AllocationEditor
          gateway={editing}
          pool={poolById.get(editing.poolId)}
          onClose={() => setEditing(undefined)}
          onSaved={() => {
            setEditing(undefined);
            page.reload();
            pools.reload();
          }}
        />
      ) : null}
    </section>
  );
}
