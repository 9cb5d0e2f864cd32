import type { PoolView } from '../api/types.js';
import { num, pct } from '../format.js';
import './history.css';

interface UsageBarProps {
  readonly label: string;
  /** The most that may be held (capacity × overdraft). */
  readonly limit: number;
  readonly capacity: number;
  readonly held: number;
  readonly allocated: number;
  readonly inUse: number;
  /** What online gateways' allocations ask beyond what they hold (F2 pending). */
  readonly pending?: number;
  readonly alarmRatio: number;
}

const width = (n: number, of: number) => `${of > 0 ? Math.min(100, (n / of) * 100) : 0}%`;

/**
 * A pool's utilization for one kind: the track is the limit, the light fill what gateways hold,
 * the solid fill what they use, the hatched segment after it what is pending (asked, not yet
 * held), the tick what administrators allocated.
 */
function UsageBar({ label, limit, capacity, held, allocated, inUse, pending = 0, alarmRatio }: UsageBarProps) {
  const ratio = limit > 0 ? held / limit : held > 0 ? Infinity : 0;
  const level = ratio > 1 ? 'over' : ratio >= alarmRatio ? 'warn' : 'ok';
  const kind = label.toLowerCase();
  return (
    <div class={`usage usage-${level}`} data-kind={kind}>
      <div class="usage-head">
        <span class="usage-label">{label}</span>
        <span class="usage-figure">
          <b data-held>{num(held)}</b> held of {num(limit)}
          <span class="usage-pct">{Number.isFinite(ratio) ? pct(ratio) : '—'}</span>
        </span>
      </div>
      <div class="track" role="meter" aria-label={`${label} held${pending > 0 ? `, ${num(pending)} pending` : ''}`} aria-valuemin={0} aria-valuemax={limit} aria-valuenow={held}>
        <div class="fill-held" style={{ width: width(held, limit) }} />
        <div class="fill-use" style={{ width: width(inUse, limit) }} />
        {pending > 0 && held < limit ? (
          <div class="fill-pending" data-pending={pending} style={{ left: width(held, limit), width: width(Math.min(pending, limit - held), limit) }} title={`pending ${num(pending)}`} />
        ) : null}
        {allocated > 0 ? <div class="tick" style={{ left: width(allocated, limit) }} title={`allocated ${num(allocated)}`} /> : null}
        {capacity < limit ? <div class="tick tick-capacity" style={{ left: width(capacity, limit) }} title={`licensed ${num(capacity)}`} /> : null}
      </div>
      <div class="usage-legend">
        <span>
          <i class="key key-use" />
          in use {num(inUse)}
        </span>
        <span>
          <i class="key key-alloc" />
          allocated {num(allocated)}
        </span>
        <span data-legend="pending">
          <i class="key key-pending" />
          pending {num(pending)}
        </span>
        {capacity < limit ? (
          <span>
            <i class="key key-capacity" />
            licensed {num(capacity)}, overdraft to {num(limit)}
          </span>
        ) : null}
        <span>free {num(Math.max(0, limit - held))}</span>
        {held > limit ? <span class="over-by">over by {num(held - limit)}</span> : null}
      </div>
    </div>
  );
}

/**
 * A gateway's use against its allocation, compact for a table cell; over it, the bar is full, red
 * and says by how much. Few elements on purpose (the gateway list shows 100 of these): the bar is
 * one element whose fill is a gradient stop, not a track with a clipped fill inside.
 */
export function MiniBar({ used, of, held, kind }: { used: number | null; of: number; held: number; kind?: string }) {
  const over = used !== null && used > of;
  const ratio = used === null ? 0 : of > 0 ? used / of : 0;
  const level = over ? 'over' : ratio >= 0.9 ? 'warn' : 'ok';
  return (
    <div class={`mini mini-${level}`} data-over={over ? 'true' : 'false'}>
      <b>{used === null ? '–' : num(used)}</b> / {num(of)}
      {held > of ? <span class="held-note" title="points still held until the agent acknowledges the smaller lease or it expires">held {num(held)}</span> : null}
      {over ? <span class="over-note">over by {num(used - of)}</span> : null}
      <i
        class="mini-bar"
        role="meter"
        aria-label={`${kind ?? 'points'} in use of allocated${over ? `, over the allocation by ${num(used - of)}` : ''}`}
        aria-valuemin={0}
        aria-valuemax={Math.max(of, used ?? 0)}
        aria-valuenow={used ?? 0}
        style={{ '--fill': over ? '100%' : width(used ?? 0, of) }}
      />
    </div>
  );
}

/** A pool's bars, one per kind, from its view. */
export function PoolUsageBars({ pool: p }: { pool: PoolView }) {
  return (
    <>
      {(['tags', 'connections'] as const).map((k) => (
        <UsageBar
          key={k}
          label={k === 'tags' ? 'Tags' : 'Connections'}
          limit={p.limit[k]}
          capacity={p.capacity[k]}
          held={p.held[k]}
          allocated={p.allocated[k]}
          inUse={p.inUse[k]}
          pending={p.pending[k]}
          alarmRatio={p.alarmRaiseRatio}
        />
      ))}
    </>
  );
}
