import { useState } from 'preact/hooks';
import type { GatewayHistory, HistoryRange } from '../../api/types.js';
import { HistoryChart } from '../../components/history-chart.js';
import { ProblemNotice } from '../../components/problem.js';
import { dateTime } from '../../format.js';
import { useQuery } from '../../hooks.js';
import { RangeToggle } from '../pools/pool-history.js';

/** A gateway's usage against its allocation (and what it held) over time: steps between the changes the controller sampled. */
export function GatewayHistoryPanel({ gatewayId }: { gatewayId: string }) {
  const [range, setRange] = useState<HistoryRange>('24h');
  const q = useQuery(`gateway-history-${gatewayId}-${range}`, (api, signal) => api.get<GatewayHistory>(`/gateways/${gatewayId}/history?range=${range}`, signal), {
    pollMs: 60_000,
  });
  const h = q.data;
  const online = h ? h.samples.filter((s, i) => i === 0 || s.online !== h.samples[i - 1]!.online) : [];
  return (
    <section class="card" data-gateway-history={h ? h.samples.length : 'loading'} aria-labelledby="gateway-history-title">
      <header class="card-head">
        <h2 id="gateway-history-title">Usage against allocation</h2>
        <RangeToggle range={range} onRange={setRange} />
      </header>
      <ProblemNotice error={q.error} />
      {h ? (
        <>
          <div class="chart-grid-2">
            {(['tags', 'connections'] as const).map((kind) => {
              const pts = (f: (s: GatewayHistory['samples'][number]) => number | null) =>
                h.samples.flatMap((s) => {
                  const v = f(s);
                  return v === null ? [] : [[Date.parse(s.at), v] as const];
                });
              return (
                <HistoryChart
                  key={kind}
                  title={kind === 'tags' ? 'Tags' : 'Connections'}
                  range={range}
                  from={Date.parse(h.from)}
                  to={Date.parse(h.to)}
                  series={[
                    { key: 'held', label: 'held', area: true, step: true, points: pts((s) => s.held[kind]) },
                    { key: 'allocated', label: 'allocated', step: true, points: pts((s) => s.allocated[kind]) },
                    { key: 'inUse', label: 'in use', step: true, points: pts((s) => s.inUse?.[kind] ?? null) },
                  ]}
                />
              );
            })}
          </div>
          <p class="muted small" data-presence-changes={online.length}>
            {h.samples.length === 0
              ? 'Nothing sampled in this window yet.'
              : `Presence: ${online.map((s) => `${s.online ? 'online' : 'offline'} from ${dateTime(s.at)}`).join(' · ')}`}
          </p>
        </>
      ) : null}
    </section>
  );
}
