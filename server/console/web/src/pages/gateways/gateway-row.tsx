import { Component } from 'preact';
import type { GatewayView } from '../../api/types.js';
import { MiniBar } from '../../components/bars.js';
import { Chips } from '../../components/bits.js';
import { minutesLeft, relative, shortId } from '../../format.js';
import { useNow } from '../../hooks.js';

/**
 * Every prop is stable while the row's data is unchanged (the callbacks take the gateway), so a
 * page render (a keystroke, the spinner) skips the rows, and the one-second countdown re-renders
 * only the lease cells: at 10,000 gateways the filter-to-render budget is spent on the new rows.
 */
export interface RowProps {
  readonly g: GatewayView;
  readonly poolName: string | undefined;
  /** When the page's data arrived (performance.now()), to count leases down without refetching. */
  readonly receivedAt: number;
  readonly canEdit: boolean;
  readonly onEdit: (g: GatewayView) => void;
  readonly selected: boolean;
  readonly onSelect: (id: string, on: boolean) => void;
}

function Presence({ g }: { g: GatewayView }) {
  if (g.online) {
    return (
      <span class="presence presence-on">
        online{g.transport ? <span class="muted"> · {g.transport}</span> : null}
      </span>
    );
  }
  return (
    <span class="presence presence-off" title={g.lastSeenAt ? `last seen ${g.lastSeenAt}` : 'never connected'}>
      offline
      <span class="muted small block">{g.presenceChangedAt ? relative(g.presenceChangedAt) : 'never seen'}</span>
    </span>
  );
}

function Lease({ g, receivedAt }: { g: GatewayView; receivedAt: number }) {
  const l = g.lease;
  if (!l) return <span class="muted">none</span>;
  return <LeaseLeft lease={l} receivedAt={receivedAt} />;
}

/**
 * The countdown, the only part of a row that changes with time: re-rendered every second, but its
 * text changes once a minute (every second in the last one), so the page is not repainted each second.
 */
function LeaseLeft({ lease: l, receivedAt }: { lease: NonNullable<GatewayView['lease']>; receivedAt: number }) {
  const now = useNow();
  const elapsed = receivedAt ? Math.max(0, (now - receivedAt) / 1000) : 0;
  const live = l.state === 'issued' || l.state === 'acknowledged';
  const left = l.secondsLeft - elapsed;
  if (!live || left <= 0) return <span class="muted" title={`lease #${l.seq} ${l.state}`}>{live ? 'expired' : l.state}</span>;
  return (
    <span class={left < 30 ? 'text-warn' : ''} title={`lease #${l.seq}, ${l.state}, ${l.points.tags} tags / ${l.points.connections} connections`} data-lease-left>
      {minutesLeft(left)} #{l.seq}
    </span>
  );
}

function Row({ g, poolName, receivedAt, canEdit, onEdit, selected, onSelect }: RowProps) {
  return (
    <tr data-gateway={g.name} data-online={g.online ? 'true' : 'false'} class={selected ? 'selected' : undefined}>
      {canEdit ? (
        <td class="select-col">
          <input type="checkbox" aria-label={`Select ${g.name}`} checked={selected} onChange={(e) => onSelect(g.id, e.currentTarget.checked)} />
        </td>
      ) : null}
      <td>
        <a class="strong" href={`/gateways/${g.id}`}>
          {g.name}
        </a>
        <div class="muted small mono" title={`gateway ${g.id}\nhardware ${g.hardwareId}`}>
          {shortId(g.id)}
        </div>
      </td>
      <td class="muted">{poolName ?? shortId(g.poolId)}</td>
      <td>
        <Presence g={g} />
      </td>
      <td>
        <MiniBar used={g.usage?.tags ?? null} of={g.allocation.tags} held={g.held.tags} kind="tags" />
      </td>
      <td>
        <MiniBar used={g.usage?.connections ?? null} of={g.allocation.connections} held={g.held.connections} kind="connections" />
      </td>
      <td class="nowrap">
        <Lease g={g} receivedAt={receivedAt} />
      </td>
      <td class={g.allocation.plugins.length ? undefined : 'muted'}>{g.allocation.plugins.length ? <Chips items={g.allocation.plugins} /> : '—'}</td>
      <td class="actions">
        {canEdit ? (
          <button type="button" class="button button-small" onClick={() => onEdit(g)}>
            Edit
          </button>
        ) : null}
        <a class="button button-small button-ghost" href={`/audit?gatewayId=${g.id}`} title="Audit trail of this gateway">
          History
        </a>
      </td>
    </tr>
  );
}

/** A row re-renders only when one of its props changed (preact/compat's memo would hook every vnode of the console). */
export class GatewayRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const cur = this.props;
    return (Object.keys(next) as (keyof RowProps)[]).some((k) => next[k] !== cur[k]);
  }

  override render(props: RowProps) {
    return <Row {...props} />;
  }
}
