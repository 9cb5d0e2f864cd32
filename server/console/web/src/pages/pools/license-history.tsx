import type { AuditPage } from '../../api/types.js';
import { Empty } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { dateTime } from '../../format.js';
import { useQuery } from '../../hooks.js';
import { ChangeSummary } from '../audit/change-summary.js';

const ACTIONS = ['pool.license.uploaded', 'pool.license.uploaded.forced'] as const;

/** The pool's license changes as the audit trail recorded them (who, when, what it was and became). */
export function LicenseHistory({ poolId }: { poolId: string }) {
  const q = useQuery(
    `pool-license-history-${poolId}`,
    async (api, signal) => {
      const pages = await Promise.all(ACTIONS.map((a) => api.get<AuditPage>(`/audit?poolId=${poolId}&action=${encodeURIComponent(a)}&limit=100`, signal)));
      return pages.flatMap((p) => p.items).sort((a, b) => b.id - a.id);
    },
    { refreshOn: (c) => c.pools === null || c.pools.includes(poolId) },
  );
  const items = q.data ?? [];
  return (
    <section class="card" aria-labelledby="license-history-title">
      <h2 id="license-history-title">License history</h2>
      <p class="muted small">
        From the audit trail. <a href={`/audit?poolId=${poolId}`}>All of this pool's events</a>
      </p>
      <ProblemNotice error={q.error} />
      {q.data && items.length === 0 ? <Empty>No license uploaded yet.</Empty> : null}
      {items.length ? (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="License history">
          <table class="table" data-license-history={items.length}>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Change</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} data-action={e.action}>
                  <td class="nowrap">{dateTime(e.at, true)}</td>
                  <td class="change-cell">
                    {e.action.endsWith('.forced') ? <strong class="text-bad">Forced below what was held. </strong> : null}
                    <ChangeSummary before={e.before} after={e.after} />
                  </td>
                  <td class="muted small">{e.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
