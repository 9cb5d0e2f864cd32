import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { query as qs } from '../../api/client.js';
import type { GatewayIdsPage, GatewayPage, GatewayView, PoolView } from '../../api/types.js';
import { Empty, Pager } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan, useConsole } from '../../context.js';
import { num } from '../../format.js';
import { useAction, useQuery } from '../../hooks.js';
import { navigate } from '../../router.js';
import { AllocationEditor } from './allocation-editor.js';
import { BulkAllocationDialog, BulkReleaseDialog } from './bulk-actions.js';
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
  const { api } = useConsole();
  const f = readFilters(query);
  const key = apiQuery(f);
  const page = useQuery(key, (api, signal) => api.get<GatewayPage>(`/gateways${key}`, signal), { refreshOn: () => true, pollMs: 10_000 });
  const pools = useQuery('pools', (api, signal) => api.get<PoolView[]>('/pools', signal), { refreshOn: (c) => c.pools === null || c.pools.length > 0 });
  const poolById = useMemo(() => new Map((pools.data ?? []).map((p) => [p.id, p])), [pools.data]);
  const [editing, setEditing] = useState<GatewayView | undefined>();

  const set = (patch: Partial<GatewayFilters>) => navigate(`/gateways${filterQuery({ ...f, offset: 0, ...patch })}`, { replace: true });
  const sortBy = (field: SortField) => set({ sort: field, order: f.sort === field && f.order === 'asc' ? 'desc' : 'asc' });
  const items = page.data?.items ?? [];
  const total = page.data?.total ?? 0;

  // The selection belongs to one filter: paging and sorting keep it, a new filter starts afresh.
  const filterKey = qs({ q: f.q.trim(), poolId: f.poolId, online: f.online });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [truncated, setTruncated] = useState(false);
  const [bulk, setBulk] = useState<'allocate' | 'release' | undefined>();
  const [done, setDone] = useState<string | undefined>();
  useEffect(() => {
    setSelected(new Set());
    setTruncated(false);
  }, [filterKey]);
  // Stable, so the memoised rows are not re-rendered by every page render.
  const toggle = useCallback(
    (ids: readonly string[], on: boolean) =>
      setSelected((cur) => {
        const next = new Set(cur);
        for (const id of ids) if (on) next.add(id);
        else next.delete(id);
        return next;
      }),
    [],
  );
  const selectOne = useCallback((id: string, on: boolean) => toggle([id], on), [toggle]);
  const allMatching = useAction(() => api.get<GatewayIdsPage>(`/gateways/ids${qs({ q: f.q.trim(), poolId: f.poolId, online: f.online, sort: f.sort, order: f.order })}`));
  const selectAllMatching = async () => {
    const r = await allMatching.run();
    if (!r) return;
    setSelected(new Set(r.ids));
    setTruncated(r.truncated);
  };
  const exportCsv = useAction(() => api.download(`/gateways/export.csv${qs({ q: f.q.trim(), poolId: f.poolId, online: f.online, sort: f.sort, order: f.order })}`, 'gateways.csv'));
  const pageIds = items.map((g) => g.id);
  const pageAll = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  const finished = (what: string) => (changed: number) => {
    setBulk(undefined);
    setSelected(new Set());
    setDone(`${what} ${num(changed)} gateways.`);
    page.reload();
    pools.reload();
  };

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
        <span class={`spinner${page.slow ? ' on' : ''}`} aria-hidden="true" />
        <button type="button" class="button push-left" onClick={() => void exportCsv.run()} disabled={exportCsv.busy} title="Every gateway matching the filter, as CSV">
          {exportCsv.busy ? 'Exporting…' : 'Export CSV'}
        </button>
      </div>
      <ProblemNotice error={page.error ?? exportCsv.error ?? allMatching.error} />
      {done ? (
        <div class="notice notice-ok" role="status" data-bulk-done>
          {done}
        </div>
      ) : null}
      {canEdit && selected.size > 0 ? (
        <div class="selection-bar" role="region" aria-label="Selected gateways" data-selected={selected.size}>
          <span>
            <b>{num(selected.size)}</b> selected
          </span>
          {selected.size < total ? (
            <button type="button" class="button button-small" onClick={() => void selectAllMatching()} disabled={allMatching.busy} data-select-all>
              Select all {num(total)} matching the filter
            </button>
          ) : (
            <span class="muted">all gateways matching the filter</span>
          )}
          {truncated ? <span class="text-warn">only the first {num(selected.size)} could be selected</span> : null}
          <span class="push-left" />
          <button type="button" class="button button-small primary" onClick={() => setBulk('allocate')}>
            Allocate…
          </button>
          <button type="button" class="button button-small danger-ghost" onClick={() => setBulk('release')}>
            Release…
          </button>
          <button type="button" class="button button-small button-ghost" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        </div>
      ) : null}
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Gateways">
        <table class="table gateways" data-key={page.shownKey ?? ''} data-state={page.loading ? 'loading' : 'ready'} aria-busy={page.slow} data-total={total}>
          <thead>
            <tr>
              {canEdit ? (
                <th scope="col" class="select-col">
                  <input type="checkbox" aria-label="Select the gateways on this page" checked={pageAll} onChange={(e) => toggle(pageIds, e.currentTarget.checked)} />
                </th>
              ) : null}
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
              <GatewayRow
                key={g.id}
                g={g}
                poolName={poolById.get(g.poolId)?.name}
                receivedAt={page.receivedAt}
                canEdit={canEdit}
                onEdit={setEditing}
                selected={selected.has(g.id)}
                onSelect={selectOne}
              />
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
      {bulk === 'allocate' ? <BulkAllocationDialog ids={[...selected]} onClose={() => setBulk(undefined)} onDone={finished('Changed the points of')} /> : null}
      {bulk === 'release' ? (
        <BulkReleaseDialog ids={[...selected]} known={items.filter((g) => selected.has(g.id))} onClose={() => setBulk(undefined)} onDone={finished('Released')} />
      ) : null}
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
