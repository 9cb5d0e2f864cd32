import type { GatewayView } from '../../api/types.js';
import { MiniBar } from '../../components/bars.js';
import { Chips } from '../../components/bits.js';
import { clock, relative, shortId } from '../../format.js';

export interface RowProps {
  readonly g: GatewayView;
  readonly poolName: string | undefined;
  /** Seconds since the page's data arrived, to count leases down without refetching. */
  readonly elapsed: number;
  readonly canEdit: boolean;
  readonly onEdit: (g: GatewayView) => void;
  readonly selected: boolean;
  readonly onSelect: (on: boolean) => void;
}

function Presence({ g }: { g: GatewayView }) {
  if (g.online) {
    return (
      <span class="presence presence-on">
        <i /> online{g.transport ? <span class="muted"> · {g.transport}</span> : null}
      </span>
    );
  }
  return (
    <span class="presence presence-off" title={g.lastSeenAt ? `last seen ${g.lastSeenAt}` : 'never connected'}>
      <i /> offline
      <span class="muted small block">{g.presenceChangedAt ? relative(g.presenceChangedAt) : 'never seen'}</span>
    </span>
  );
}

function Lease({ g, elapsed }: { g: GatewayView; elapsed: number }) {
  const l = g.lease;
  if (!l) return <span class="muted">none</span>;
  const live = l.state === 'issued' || l.state === 'acknowledged';
  const left = l.secondsLeft - elapsed;
  if (!live || left <= 0) return <span class="muted" title={`lease #${l.seq} ${l.state}`}>{live ? 'expired' : l.state}</span>;
  return (
    <span class={left < 30 ? 'text-warn' : ''} title={`lease #${l.seq}, ${l.state}, ${l.points.tags} tags / ${l.points.connections} connections`} data-lease-left>
      {clock(left)} <span class="muted small">#{l.seq}</span>
    </span>
  );
}

export function GatewayRow({ g, poolName, elapsed, canEdit, onEdit, selected, onSelect }: RowProps) {
  return (
    <tr data-gateway={g.name} data-online={g.online ? 'true' : 'false'} class={selected ? 'selected' : undefined}>
      {canEdit ? (
        <td class="select-col">
          <input type="checkbox" aria-label={`Select ${g.name}`} checked={selected} onChange={(e) => onSelect(e.currentTarget.checked)} />
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
        <Lease g={g} elapsed={elapsed} />
      </td>
      <td>
        <Chips items={g.allocation.plugins} empty="—" />
      </td>
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
