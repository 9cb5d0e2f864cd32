import { useEffect, useMemo, useState } from 'preact/hooks';
import type { AuditEventView, AuditPage as Page, PoolView } from '../../api/types.js';
import { CopyButton, Empty } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { dateTime, relative, shortId } from '../../format.js';
import { useAction, useQuery } from '../../hooks.js';
import { AuditFilterBar, auditApiQuery, auditExportQuery, readAuditFilters } from './audit-filters.js';
import { ChangeSummary } from './change-summary.js';

const UUIDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Long ids shortened to their first block; the full text stays in the tooltip. */
function Ids({ text }: { text: string }) {
  const short = text.replace(UUIDS, (id) => id.slice(0, 8));
  return short === text ? <>{text}</> : <span title={text}>{short}</span>;
}

/** A shortened id with the full one on hover, and a button that copies the full id. */
function IdCopy({ id, href }: { id: string; href: string }) {
  return (
    <span class="id-copy">
      <a href={href} title={id} data-full-id={id}>
        {shortId(id)}
      </a>
      <CopyButton text={id} label="copy" aria={`Copy id ${id}`} small />
    </span>
  );
}

const tone = (action: string) => (action.endsWith('.forced') || action.includes('revoked') || action.includes('reclaimed') ? 'bad' : action.split('.')[0]);

/** The audit trail, newest first; older pages load on demand with the `before` cursor. */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const { api, live } = useConsole();
  const f = readAuditFilters(query);
  const key = auditApiQuery(f);
  const [older, setOlder] = useState<{ items: AuditEventView[]; nextBefore: number | null } | undefined>();
  const [fresh, setFresh] = useState(false);
  const following = older === undefined && !f.to;
  const head = useQuery(key, (a, signal) => a.get<Page>(`/audit${key}`, signal), {
    refreshOn: () => following,
    pollMs: following ? 15_000 : 0,
  });
  const pools = useQuery('pools', (a, signal) => a.get<PoolView[]>('/pools', signal));
  const poolNames = useMemo(() => new Map((pools.data ?? []).map((p) => [p.id, p.name])), [pools.data]);
  const more = useAction((before: number) => api.get<Page>(`/audit${auditApiQuery(f, before)}`));
  const exportCsv = useAction(() => api.download(`/audit/export.csv${auditExportQuery(f)}`, 'audit.csv'));

  useEffect(() => {
    setOlder(undefined);
    setFresh(false);
  }, [key]);
  // While older pages are open the list stays put; newer events are announced instead.
  useEffect(() => live.onChanges(() => !following && setFresh(true)), [live, following]);

  const items = [...(head.data?.items ?? []), ...(older?.items ?? [])];
  const nextBefore = older ? older.nextBefore : (head.data?.nextBefore ?? null);
  const loadOlder = async () => {
    if (nextBefore === null) return;
    const page = await more.run(nextBefore);
    if (page) setOlder((cur) => ({ items: [...(cur?.items ?? []), ...page.items], nextBefore: page.nextBefore }));
  };
  const showNewest = () => {
    setOlder(undefined);
    setFresh(false);
    head.reload();
  };

  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Audit trail</h1>
          <p class="muted">Every grant, renewal, release, expiry and administrative change, newest first.</p>
        </div>
        <button type="button" class="button" onClick={() => void exportCsv.run()} disabled={exportCsv.busy} title="Every event matching the filters, as CSV">
          {exportCsv.busy ? 'Exporting…' : 'Export CSV'}
        </button>
      </div>
      <AuditFilterBar key={key} value={f} pools={pools.data ?? []} />
      {fresh ? (
        <button type="button" class="fresh-pill" onClick={showNewest}>
          New events — show the newest
        </button>
      ) : null}
      <ProblemNotice error={head.error ?? more.error ?? exportCsv.error} />
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit events">
        <table class="table audit" data-state={head.loading ? 'loading' : 'ready'} aria-busy={head.slow} data-key={head.shownKey ?? ''}>
          <thead>
            <tr>
              <th>Time</th>
              <th>Action</th>
              <th>Subject</th>
              <th>Change</th>
              <th>Pool</th>
              <th>Gateway</th>
              <th>Actor</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} data-action={e.action}>
                <td class="nowrap" title={e.at}>
                  {dateTime(e.at, true)}
                  <div class="muted small">{relative(e.at)}</div>
                </td>
                <td>
                  <span class={`action action-${tone(e.action)}`}>{e.action}</span>
                </td>
                <td class="strong">
                  <Ids text={e.subject || '—'} />
                </td>
                <td class="change-cell">
                  <ChangeSummary before={e.before} after={e.after} />
                </td>
                <td class="nowrap">{e.poolId ? <a href={`/audit?poolId=${e.poolId}`}>{poolNames.get(e.poolId) ?? shortId(e.poolId)}</a> : <span class="muted">—</span>}</td>
                <td class="mono small">{e.gatewayId ? <IdCopy id={e.gatewayId} href={`/audit?gatewayId=${e.gatewayId}`} /> : <span class="muted">—</span>}</td>
                <td class="muted small">
                  <Ids text={e.actor} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {head.data && items.length === 0 ? <Empty>No events match these filters.</Empty> : null}
      </div>
      <div class="table-foot">
        <span class="muted small">{items.length} events shown</span>
        {nextBefore !== null ? (
          <button type="button" class="button" onClick={() => void loadOlder()} disabled={more.busy}>
            {more.busy ? 'Loading…' : 'Load older events'}
          </button>
        ) : items.length ? (
          <span class="muted small">That is the beginning of the trail.</span>
        ) : null}
      </div>
    </section>
  );
}
