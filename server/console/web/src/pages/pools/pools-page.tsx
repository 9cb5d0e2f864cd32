import { useState } from 'preact/hooks';
import type { PoolView } from '../../api/types.js';
import { AttentionPanel, type AttentionList } from '../../components/attention.js';
import { Empty } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useCan } from '../../context.js';
import { num } from '../../format.js';
import { useQuery } from '../../hooks.js';
import { CreatePoolModal } from './create-pool-modal.js';
import { LicenseModal } from './license-modal.js';
import { PoolCard } from './pool-card.js';

export function PoolsPage(_: { query: URLSearchParams }) {
  const canAdmin = useCan('admin');
  const pools = useQuery('pools', (api, signal) => api.get<PoolView[]>('/pools', signal), {
    // Any gateway change can move a pool's held or online figures.
    refreshOn: () => true,
    pollMs: 15_000,
  });
  const attention = useQuery('attention', (api, signal) => api.get<AttentionList>('/attention', signal), { refreshOn: () => true, pollMs: 15_000 });
  const alerts = attention.data?.items ?? [];
  const [creating, setCreating] = useState(false);
  const [uploading, setUploading] = useState<PoolView | undefined>();
  const list = pools.data ?? [];
  const online = list.reduce((n, p) => n + p.gateways.online, 0);
  const total = list.reduce((n, p) => n + p.gateways.total, 0);
  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Pools</h1>
          <p class="muted">
            {num(list.length)} {list.length === 1 ? 'pool' : 'pools'} · {num(online)} of {num(total)} gateways online
            {alerts.length ? (
              <a class="text-bad" href="#attention-title" data-attention-count={alerts.length}>
                {' '}
                · {alerts.length} {alerts.length === 1 ? 'needs' : 'need'} attention
              </a>
            ) : null}
          </p>
        </div>
        {canAdmin ? (
          <button type="button" class="button primary" onClick={() => setCreating(true)}>
            New pool
          </button>
        ) : null}
      </div>
      <ProblemNotice error={pools.error} />
      <AttentionPanel items={alerts} />
      {pools.data && list.length === 0 ? (
        <Empty>
          No pools yet. {canAdmin ? 'Create one and upload its license to start handing out points.' : 'An administrator creates them.'}
        </Empty>
      ) : null}
      <div class="pool-grid">
        {list.map((p) => (
          <PoolCard key={p.id} pool={p} attention={alerts.filter((a) => a.poolId === p.id)} canAdmin={canAdmin} onUpload={() => setUploading(p)} />
        ))}
      </div>
      {creating ? (
        <CreatePoolModal
          onClose={() => setCreating(false)}
          onDone={() => {
            setCreating(false);
            pools.reload();
          }}
        />
      ) : null}
      {uploading ? (
        <LicenseModal
          pool={uploading}
          onClose={() => setUploading(undefined)}
          onDone={() => {
            setUploading(undefined);
            pools.reload();
          }}
        />
      ) : null}
    </section>
  );
}
