import { useState } from 'preact/hooks';
import { query } from '../../api/client.js';
import type { ActivationCodeView, GatewayPage } from '../../api/types.js';
import { Badge, Pager } from '../../components/bits.js';
import { ProblemNotice } from '../../components/problem.js';
import { useConsole } from '../../context.js';
import { date, dateTime, relative } from '../../format.js';
import { useAction, useQuery } from '../../hooks.js';

const SEATS_PER_PAGE = 25;

/** A code's seats a page at a time: a code for a whole site has thousands (1,495 rows were rendered at once). */
function Seats({ codeId, total }: { codeId: string; total: number }) {
  const [offset, setOffset] = useState(0);
  const key = `/gateways${query({ codeId, sort: 'enrolledAt', order: 'asc', limit: SEATS_PER_PAGE, offset })}`;
  const seats = useQuery(key, (api, signal) => api.get<GatewayPage>(key, signal));
  const items = seats.data?.items ?? [];
  if (seats.error) return <ProblemNotice error={seats.error} />;
  if (!seats.data) return <span class="muted">Loading seats…</span>;
  if (seats.data.total === 0 && total === 0) return <span class="muted">No gateway has enrolled with this code yet.</span>;
  return (
    <div data-seats data-state={seats.loading ? 'loading' : 'ready'}>
      <ul class="seat-list">
        {items.map((g) => (
          <li key={g.id}>
            <i class={`dot ${g.online ? 'dot-on' : 'dot-off'}`} /> <a href={`/gateways/${g.id}`}>{g.name}</a> <span class="muted small">enrolled {relative(g.enrolledAt)}</span>
          </li>
        ))}
      </ul>
      {seats.data.total > SEATS_PER_PAGE ? <Pager offset={offset} limit={SEATS_PER_PAGE} total={seats.data.total} onPage={setOffset} /> : null}
    </div>
  );
}

function status(c: ActivationCodeView) {
  if (c.revokedAt) return <Badge tone="muted">revoked</Badge>;
  if (c.expiresAt && new Date(c.expiresAt).getTime() <= Date.now()) return <Badge tone="muted">expired</Badge>;
  if (c.seatsUsed >= c.seats) return <Badge tone="warn">all seats used</Badge>;
  return <Badge tone="ok">active</Badge>;
}

export function CodeRow({ code: c, poolName, canOperate, onChanged }: { code: ActivationCodeView; poolName: string; canOperate: boolean; onChanged: () => void }) {
  const { api } = useConsole();
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const revoke = useAction(() => api.send<ActivationCodeView>('POST', `/activation-codes/${c.id}/revoke`));
  const toggle = () => setOpen((o) => !o);
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
          <button type="button" class="link" onClick={toggle} aria-expanded={open}>
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
            <Seats codeId={c.id} total={c.seatsUsed} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
