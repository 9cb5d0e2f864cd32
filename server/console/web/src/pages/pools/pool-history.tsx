import { useState } from 'preact/hooks';
import type { HistoryRange, PoolHistory } from '../../api/types.js';
import { HistoryChart } from '../../components/history-chart.js';
import { ProblemNotice } from '../../components/problem.js';
import { useQuery } from '../../hooks.js';

export function RangeToggle({ range, onRange }: { range: HistoryRange; onRange: (r: HistoryRange) => void }) {
  return (
    <span class="range-toggle" role="group" aria-label="Time range">
      {(['24h', '30d'] as const).map((r) => (
        <button key={r} type="button" class="button button-small" aria-pressed={range === r ? 'true' : 'false'} onClick={() => onRange(r)}>
          {r === '24h' ? 'Last 24 h' : 'Last 30 days'}
        </button>
      ))}
    </span>
  );
}

/** A pool's held, allocated, in-use, pending and limit over time, per kind, from the controller's own rollup. */
export function PoolHistoryPanel({ poolId }: { poolId: string }) {
  const [range, setRange] = useState<HistoryRange>('24h');
  const q = useQuery(`pool-history-${poolId}-${range}`, (api, signal) => api.get<PoolHistory>(`/pools/${poolId}/history?range=${range}`, signal), { pollMs: 60_000 });
  const h = q.data;
  const kinds = [
    { kind: 'tags', label: 'Tags' },
    { kind: 'connections', label: 'Connections' },
  ] as const;
  return (
    <section class="card" data-pool-history={h ? h.samples.length : 'loading'} aria-labelledby="pool-history-title">
      <header class="card-head">
        <h2 id="pool-history-title">History</h2>
        <RangeToggle range={range} onRange={setRange} />
      </header>
      <p class="muted small">
        {range === '24h' ? 'Peak per minute over the last day.' : 'Peak per hour over the last 30 days.'} Sampled by the controller itself
        {h && h.samples.length === 0 ? '; nothing sampled in this window yet.' : '.'}
      </p>
      <ProblemNotice error={q.error} />
      {h ? (
        <div class="chart-grid-2">
          {kinds.map(({ kind, label }) => {
            const pts = (f: (s: PoolHistory['samples'][number]) => number) => h.samples.map((s) => [Date.parse(s.at), f(s)] as const);
            return (
              <HistoryChart
                key={kind}
                title={label}
                range={range}
                from={Date.parse(h.from)}
                to={Date.parse(h.to)}
                series={[
                  { key: 'held', label: 'held', area: true, points: pts((s) => s.held[kind]) },
                  { key: 'allocated', label: 'allocated', points: pts((s) => s.allocated[kind]) },
                  { key: 'inUse', label: 'in use', points: pts((s) => s.inUse[kind]) },
                  { key: 'pending', label: 'pending', points: pts((s) => s.pending[kind]) },
                  { key: 'limit', label: 'limit', step: true, points: pts((s) => s.limit[kind]) },
                ]}
              />
            );
          })}
        </div>
      ) : null}
    </section>
  );
}
