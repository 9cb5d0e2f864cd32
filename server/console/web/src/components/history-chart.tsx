import { num } from '../format.js';
import './history.css';

export interface ChartSeries {
  /** Stable name, also the CSS class (`series-<key>`) and the test hook. */
  readonly key: string;
  readonly label: string;
  /** [time in ms, value]; drawn as steps (a value holds until the next point) when `step`. */
  readonly points: readonly (readonly [number, number])[];
  readonly step?: boolean;
  /** Filled down to the axis (what is held, say); the others are lines. */
  readonly area?: boolean;
}

interface ChartProps {
  readonly title: string;
  readonly from: number;
  readonly to: number;
  readonly series: readonly ChartSeries[];
  /** How the x ticks are labelled: times of day for a day, dates for a month. */
  readonly range: '24h' | '30d';
}

const W = 640;
const H = 180;
const PAD = { left: 48, right: 10, top: 10, bottom: 22 };

const pad2 = (n: number) => String(n).padStart(2, '0');
function tickLabel(ms: number, range: '24h' | '30d'): string {
  const d = new Date(ms);
  return range === '24h' ? `${pad2(d.getHours())}:${pad2(d.getMinutes())}` : `${d.getMonth() + 1}/${d.getDate()}`;
}

/** A round upper bound for the y axis (1, 2, 2.5 or 5 × a power of ten). */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * A small time-series chart in inline SVG (no library: a few paths, axes and a legend). Values are
 * bucket peaks or steps between changes; an empty series draws nothing but keeps its legend.
 */
export function HistoryChart({ title, from, to, series, range }: ChartProps) {
  const span = Math.max(1, to - from);
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p[1]))));
  const x = (t: number) => PAD.left + ((Math.min(to, Math.max(from, t)) - from) / span) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const pathOf = (s: ChartSeries): string => {
    const pts = s.points.filter((p) => p[0] <= to);
    if (pts.length === 0) return '';
    const out: string[] = [];
    pts.forEach(([t, v], i) => {
      if (i === 0) out.push(`M${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      else if (s.step) out.push(`H${x(t).toFixed(1)}V${y(v).toFixed(1)}`);
      else out.push(`L${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    });
    // A step series holds its last value until now.
    if (s.step) out.push(`H${x(to).toFixed(1)}`);
    return out.join('');
  };
  const areaOf = (s: ChartSeries): string => {
    const line = pathOf(s);
    if (!line) return '';
    const pts = s.points.filter((p) => p[0] <= to);
    const last = s.step ? to : pts[pts.length - 1]![0];
    return `${line}L${x(last).toFixed(1)},${y(0).toFixed(1)}L${x(pts[0]![0]).toFixed(1)},${y(0).toFixed(1)}Z`;
  };
  const xTicks = Array.from({ length: 5 }, (_, i) => from + (span * i) / 4);
  const yTicks = [0, max / 2, max];
  const latest = series.map((s) => ({ s, v: s.points.length ? s.points[s.points.length - 1]![1] : undefined }));
  const summary = latest.map(({ s, v }) => `${s.label} ${v === undefined ? 'no data' : num(v)}`).join(', ');
  return (
    <figure class="chart" data-chart={title}>
      <figcaption class="chart-title">{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: latest ${summary}`} preserveAspectRatio="xMidYMid meet">
        {yTicks.map((v) => (
          <g key={`y${v}`} class="chart-grid">
            <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} />
            <text x={PAD.left - 6} y={y(v) + 4} text-anchor="end">
              {num(v)}
            </text>
          </g>
        ))}
        {xTicks.map((t, i) => (
          <text key={`x${i}`} class="chart-axis" x={x(t)} y={H - 6} text-anchor={i === 0 ? 'start' : i === 4 ? 'end' : 'middle'}>
            {tickLabel(t, range)}
          </text>
        ))}
        {series.map((s) =>
          s.area ? <path key={`${s.key}-area`} class={`chart-area series-${s.key}`} d={areaOf(s)} /> : null,
        )}
        {series.map((s) => (
          <path key={s.key} class={`chart-line series-${s.key}`} d={pathOf(s)} data-series={s.key} data-points={s.points.length} />
        ))}
      </svg>
      <ul class="chart-legend">
        {latest.map(({ s, v }) => (
          <li key={s.key}>
            <i class={`chart-key series-${s.key}`} />
            {s.label} <b>{v === undefined ? '—' : num(v)}</b>
          </li>
        ))}
      </ul>
    </figure>
  );
}
