import { useState } from 'preact/hooks';
import type { ActivationCodeView, GatewayView } from '../../api/types.js';
import { Badge } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { date, dateTime, relative } from '../../format.js';
import { useAction } from '../../hooks.js';

function status(c: ActivationCodeView) {
  if (c.revokedAt) return <Badge tone="muted">revoked</Badge>;
  if (c.expiresAt && new Date(c.expiresAt).getTime() <= Date.now()) return <Badge tone="muted">expired</Badge>;
  if (c.seatsUsed >= c.seats) return <Badge tone="warn">all seats used</Badge>;
  return <Badge tone="ok">active</Badge>;
}

export function CodeRow({ code: c, poolName, canOperate, onChanged }: { code: ActivationCodeView; poolName: string; canOperate: boolean; onChanged: () => void }) {
  const { api } = useConsole();
  const [open, setOpen] = useState(false);
  const [seats, setSeats] = useState<GatewayView[] | undefined>();
  const [confirm, setConfirm] = useState(false);
  const revoke = useAction(() => api.send<ActivationCodeView>('POST', `/activation-codes/${c.id}/revoke`));
  const loadSeats = useAction(() => api.get<GatewayView[]>(`/activation-codes/${c.id}/seats`));
  const toggle = async () => {
    if (open) return setOpen(false);
    setOpen(true);
    setSeats(await loadSeats.run());
  };
  const doRevoke = async () => {
    if (!confirm) return setConfirm(true);
    if (await revoke.run()) onChanged();
  };
  const ratio = c.seats > 0 ? Math.min(1, c.seatsUsed / c.seats) : 0;
  return (
    <>
      <tr data-code-prefix={c.codePrefix}>
        <td>
          <code class="mono">{c.codePrefix}…</code>
          {c.label ? <div class="muted small">{c.label}</div> : null}
        </td>
        <td>{poolName}</td>
        <td>
          <button type="button" class="link" onClick={() => void toggle()} aria-expanded={open}>
            <b data-seats-used>{c.seatsUsed}</b> / {c.seats} {open ? '▾' : '▸'}
          </button>
          <div class="mini-track">
            <div class="mini-fill" style={{ width: `${ratio * 100}%` }} />
          </div>
        </td>
        <td>{c.expiresAt ? <span title={dateTime(c.expiresAt)}>{date(c.expiresAt)}</span> : <span class="muted">never</span>}</td>
        <td>{status(c)}</td>
        <td class="muted small">
          {c.createdBy}
          <div>{relative(c.createdAt)}</div>
        </td>
        <td class="actions">
          {canOperate && !c.revokedAt ? (
            <button type="button" class={`button button-small ${confirm ? 'danger' : 'danger-ghost'}`} onClick={() => void doRevoke()} disabled={revoke.busy}>
              {confirm ? 'Confirm revoke' : 'Revoke'}
            </button>
          ) : null}
        </td>
      </tr>
      {revoke.error ? (
        <tr>
          <td colSpan={7}>
            <ProblemNotice error={revoke.error} />
          </td>
        </tr>
      ) : null}
      {open ? (
        <tr class="subrow">
          <td colSpan={7}>
            <ProblemNotice error={loadSeats.error} />
            {seats === undefined ? (
              <span class="muted">Loading seats…</span>
            ) : seats.length === 0 ? (
              <span class="muted">No gateway has enrolled with this code yet.</span>
            ) : (
              <ul class="seat-list">
                {seats.map((g) => (
                  <li key={g.id}>
                    <i class={`dot ${g.online ? 'dot-on' : 'dot-off'}`} /> <a href={`/gateways?q=${g.id}`}>{g.name}</a>{' '}
                    <span class="muted small">enrolled {relative(g.enrolledAt)}</span>
                  </li>
                ))}
              </ul>
            )}
          </td>
        </tr>
      ) : null}
    </>
  );
}
