import { useMemo, useState } from 'preact/hooks';
import type { ActivationCodeView, PoolView } from '../../api/types.js';
import { Empty } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan } from '../../context.js';
import { useQuery } from '../../hooks.js';
import { navigate } from '../../router.js';
import { CodeRow } from './code-row.js';
import { CreateCodeModal } from './create-code-modal.js';

export function CodesPage({ query }: { query: URLSearchParams }) {
  const canOperate = useCan('operator');
  const poolId = query.get('poolId') ?? '';
  const pools = useQuery('pools', (api, signal) => api.get<PoolView[]>('/pools', signal), { refreshOn: (c) => c.pools === null || c.pools.length > 0 });
  const poolIds = (pools.data ?? []).map((p) => p.id).filter((id) => !poolId || id === poolId);
  const codes = useQuery(
    `codes:${poolIds.join(',')}`,
    async (api, signal) => (await Promise.all(poolIds.map((id) => api.get<ActivationCodeView[]>(`/pools/${id}/activation-codes`, signal)))).flat(),
    // Seats change when gateways enroll; new enrollments announce themselves by connecting.
    { refreshOn: (c) => c.gateways === null || c.gateways.length > 0, pollMs: 30_000 },
  );
  const names = useMemo(() => new Map((pools.data ?? []).map((p) => [p.id, p.name])), [pools.data]);
  const [creating, setCreating] = useState(false);
  const list = [...(codes.data ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Activation codes</h1>
          <p class="muted">Agents enroll with a code and their hardware identifier; each new gateway takes one seat.</p>
        </div>
        {canOperate ? (
          <button type="button" class="button primary" disabled={!pools.data?.length} onClick={() => setCreating(true)}>
            New activation code
          </button>
        ) : null}
      </div>
      <div class="toolbar">
        <select name="poolId" value={poolId} onChange={(e) => navigate(`/codes${e.currentTarget.value ? `?poolId=${e.currentTarget.value}` : ''}`, { replace: true })} aria-label="Pool">
          <option value="">All pools</option>
          {(pools.data ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <ProblemNotice error={pools.error ?? codes.error} />
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Activation codes">
        <table class="table codes" data-state={codes.loading ? 'loading' : 'ready'} aria-busy={codes.slow}>
          <thead>
            <tr>
              <th>Code</th>
              <th>Pool</th>
              <th>Seats used</th>
              <th>Expires</th>
              <th>Status</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <CodeRow key={c.id} code={c} poolName={names.get(c.poolId) ?? c.poolId} canOperate={canOperate} onChanged={codes.reload} />
            ))}
          </tbody>
        </table>
        {codes.data && list.length === 0 ? <Empty>No activation codes{poolId ? ' for this pool' : ''} yet.</Empty> : null}
      </div>
      {creating && pools.data ? (
        <CreateCodeModal
          pools={pools.data}
          poolId={poolId}
          onClose={(created) => {
            setCreating(false);
            if (created) codes.reload();
          }}
        />
      ) : null}
    </section>
  );
}
