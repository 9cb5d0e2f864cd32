import type { SimulateView } from '../../api/types.js';
import { Badge } from '../../components/bits.js';
import { dateTime, num } from '../../format.js';

type Report = SimulateView['inForce']['report'];
type Settings = SimulateView['inForce']['settings'];

/** lower: less is better for the pool; neutral: neither way is better in itself. */
interface Figure {
  readonly key: string;
  readonly label: string;
  readonly hint: string;
  readonly value: (r: Report) => number;
  readonly show: (n: number) => string;
  readonly better: 'lower' | 'neutral';
}

const hours = (n: number) => (Math.abs(n) >= 100 ? num(Math.round(n)) : (Math.round(n * 10) / 10).toLocaleString('en-US'));
const count = (n: number) => num(n);
const percent = (n: number) => `${(Math.round(n * 1000) / 10).toLocaleString('en-US')} %`;

const FIGURES: readonly Figure[] = [
  { key: 'strandedPointHours.tags', label: 'Stranded tag-hours', hint: 'held by offline gateways', value: (r) => r.strandedPointHours.tags, show: hours, better: 'lower' },
  { key: 'strandedPointHours.connections', label: 'Stranded connection-hours', hint: 'held by offline gateways', value: (r) => r.strandedPointHours.connections, show: hours, better: 'lower' },
  { key: 'reclaims', label: 'Reclaims', hint: "points taken back from gateways that left", value: (r) => r.reclaims, show: count, better: 'neutral' },
  { key: 'falseReclaims', label: 'False reclaims', hint: 'the gateway came back within the window', value: (r) => r.falseReclaims, show: count, better: 'lower' },
  { key: 'queuedRequests', label: 'Queued requests', hint: 'raises, reconnects and growth not served at once', value: (r) => r.queuedRequests, show: count, better: 'lower' },
  { key: 'queuedPointHours.tags', label: 'Waited tag-hours', hint: 'asked for by online gateways, not held', value: (r) => r.queuedPointHours.tags, show: hours, better: 'lower' },
  { key: 'queuedPointHours.connections', label: 'Waited connection-hours', hint: 'asked for by online gateways, not held', value: (r) => r.queuedPointHours.connections, show: hours, better: 'lower' },
  { key: 'refusedBorrows', label: 'Refused borrows', hint: 'over the duration or the cap', value: (r) => r.refusedBorrows, show: count, better: 'lower' },
  { key: 'elasticResizes', label: 'Elastic resizes', hint: 'allocations grown or shrunk', value: (r) => r.elasticResizes, show: count, better: 'neutral' },
  { key: 'peakUtilization.tags', label: 'Peak utilization, tags', hint: 'highest held ÷ limit', value: (r) => r.peakUtilization.tags, show: percent, better: 'neutral' },
  { key: 'peakUtilization.connections', label: 'Peak utilization, connections', hint: 'highest held ÷ limit', value: (r) => r.peakUtilization.connections, show: percent, better: 'neutral' },
];

/** The change from in force to what-if, in words as well as colour (colour alone says nothing to some). */
function Change({ f, a, b }: { f: Figure; a: number; b: number }) {
  const d = b - a;
  if (Math.abs(d) < 1e-9) return <span class="muted">same</span>;
  const sign = d > 0 ? '+' : '−';
  const text = `${sign}${f.show(Math.abs(d))}`;
  if (f.better === 'neutral') return <span>{text}</span>;
  const better = d < 0;
  return (
    <span class={better ? 'sim-better' : 'sim-worse'}>
      {text} <span class="small">({better ? 'better' : 'worse'})</span>
    </span>
  );
}

const settingRows: readonly [string, string, (s: Settings) => string][] = [
  ['ttlSec', 'Lease lifetime', (s) => `${num(s.ttlSec)} s`],
  ['reclaim', 'Points of a lost gateway return', (s) => (s.reclaim === 'on-expiry' ? 'when its lease expires' : `on disconnect, after ${num(s.graceSec)} s`)],
  ['elastic', 'Elastic resizing', (s) => (s.elastic ? `headroom ${percent(s.elastic.headroom)}, step ${percent(s.elastic.step)}, cooldown ${num(s.elastic.cooldownSec)} s` : 'off (allocations as recorded)')],
  ['overdraftFactor', 'Overdraft', (s) => (s.overdraftFactor > 1 ? `× ${s.overdraftFactor}` : 'none')],
  ['borrow', 'Offline borrowing', (s) => (s.borrowMaxSec > 0 ? `up to ${num(s.borrowMaxSec)} s, at most ${percent(s.borrowMaxFraction)} of capacity` : 'off')],
  ['falseReclaimWindowSec', 'False reclaim window', (s) => `${num(s.falseReclaimWindowSec)} s`],
];

/** Both replays side by side: the outcome per figure, then the settings each ran under. */
export function SimulateReport({ view }: { view: SimulateView }) {
  const a = view.inForce;
  const b = view.whatIf;
  return (
    <>
      <p class="muted" data-sim-summary>
        {dateTime(view.from)} to {dateTime(view.to)}: {num(view.gateways)} gateways, {num(view.events)} recorded events, both replays in{' '}
        {num(Math.round(view.elapsedMs))} ms.
      </p>
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Outcome, recorded settings against what if">
        <table class="table sim-table" data-sim-outcome>
          <thead>
            <tr>
              <th scope="col">Figure</th>
              <th scope="col" class="num">Recorded settings</th>
              <th scope="col" class="num">What if</th>
              <th scope="col" class="num">Change</th>
            </tr>
          </thead>
          <tbody>
            {FIGURES.map((f) => {
              const x = f.value(a.report);
              const y = f.value(b.report);
              return (
                <tr key={f.key} data-sim-figure={f.key}>
                  <th scope="row">
                    {f.label}
                    <span class="block small muted">{f.hint}</span>
                  </th>
                  <td class="num" data-col="inForce" data-value={x}>
                    {f.show(x)}
                  </td>
                  <td class="num" data-col="whatIf" data-value={y}>
                    {f.show(y)}
                  </td>
                  <td class="num" data-col="change">
                    <Change f={f} a={x} b={y} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Settings each replay ran under">
        <table class="table sim-table" data-sim-settings>
          <thead>
            <tr>
              <th scope="col">Setting</th>
              <th scope="col">Recorded settings</th>
              <th scope="col">What if</th>
            </tr>
          </thead>
          <tbody>
            {settingRows.map(([key, label, show]) => {
              const x = show(a.settings);
              const y = show(b.settings);
              return (
                <tr key={key} data-sim-setting={key} data-changed={x !== y ? 'true' : 'false'}>
                  <th scope="row">{label}</th>
                  <td data-col="inForce">{x}</td>
                  <td data-col="whatIf">
                    {y} {x !== y ? <Badge tone="info">changed</Badge> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
