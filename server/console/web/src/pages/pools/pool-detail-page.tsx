import type { PoolView } from '../../api/types.js';
import { PoolBadges, type AttentionList } from '../../components/attention.js';
import { PoolUsageBars } from '../../components/bars.js';
import { ProblemNotice } from '../../components/problem.js';
import { num } from '../../format.js';
import { useQuery } from '../../hooks.js';
import { LicenseHistory } from './license-history.js';
import { PoolHistoryPanel } from './pool-history.js';
import { PoolSettingsCard } from './pool-settings.js';

/** One pool: utilization (held, allocated, in use, pending), its history, its settings and its license changes. */
export function PoolDetailPage({ id }: { id: string }) {
  const pool = useQuery(`pool-${id}`, (api, signal) => api.get<PoolView>(`/pools/${id}`, signal), {
    refreshOn: (c) => c.pools === null || c.pools.includes(id),
    pollMs: 15_000,
  });
  const attention = useQuery('attention', (api, signal) => api.get<AttentionList>('/attention', signal), { pollMs: 15_000 });
  const p = pool.data;
  if (!p) {
    return (
      <section>
        <h1>Pool</h1>
        <ProblemNotice error={pool.error} />
      </section>
    );
  }
  return (
    <section data-pool-page={p.id} class="stack">
      <div class="page-head">
        <div>
          <p class="small">
            <a href="/pools">Pools</a> /
          </p>
          <h1>{p.name}</h1>
          <p class="muted">
            {num(p.gateways.online)} of {num(p.gateways.total)} gateways online · <a href={`/gateways?poolId=${p.id}`}>Gateways</a> ·{' '}
            <a href={`/codes?poolId=${p.id}`}>Activation codes</a> · <a href={`/pools/${p.id}/simulate`}>What-if replay</a>
          </p>
        </div>
        <div class="badges">
          <PoolBadges items={(attention.data?.items ?? []).filter((a) => a.poolId === p.id)} hasLicense={!!p.license} />
        </div>
      </div>
      <section class="card bars" aria-label="Utilization">
        <PoolUsageBars pool={p} />
      </section>
      <PoolHistoryPanel poolId={p.id} />
      <PoolSettingsCard key={`${p.id}`} pool={p} onSaved={() => pool.reload()} />
      <LicenseHistory poolId={p.id} />
    </section>
  );
}
