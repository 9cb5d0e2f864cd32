import { useState } from 'preact/hooks';
import { query } from '../../api/client.js';
import type { PoolView } from '../../api/types.js';
import { navigate } from '../../router.js';

export const knownActions = [
  'allocation.changed',
  'allocation.changed.forced',
  'gateway.enrolled',
  'gateway.reenrolled',
  'gateway.online',
  'gateway.offline',
  'gateway.renamed',
  'gateway.revoked',
  'lease.granted',
  'lease.renewed',
  'lease.superseded',
  'lease.released',
  'lease.expired',
  'lease.reclaimed',
  'pool.created',
  'pool.updated',
  'pool.license.uploaded',
  'pool.license.uploaded.forced',
  'pool.fits-license',
  'activation-code.created',
  'activation-code.revoked',
  'token.created',
  'token.revoked',
];

export interface AuditFilters {
  readonly gatewayId: string;
  readonly poolId: string;
  readonly action: string;
  /** datetime-local values (local time), turned into ISO instants for the API. */
  readonly from: string;
  readonly to: string;
}

export const readAuditFilters = (p: URLSearchParams): AuditFilters => ({
  gatewayId: p.get('gatewayId') ?? '',
  poolId: p.get('poolId') ?? '',
  action: p.get('action') ?? '',
  from: p.get('from') ?? '',
  to: p.get('to') ?? '',
});

const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function auditApiQuery(f: AuditFilters, before?: number): string {
  return query({ gatewayId: f.gatewayId, poolId: f.poolId, action: f.action, from: iso(f.from), to: iso(f.to), limit: 50, before });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function AuditFilterBar({ value, pools }: { value: AuditFilters; pools: readonly PoolView[] }) {
  const [f, setF] = useState(value);
  const set = (patch: Partial<AuditFilters>) => setF((cur) => ({ ...cur, ...patch }));
  const badGateway = f.gatewayId.trim() !== '' && !UUID.test(f.gatewayId.trim());
  const apply = (e: Event) => {
    e.preventDefault();
    if (!badGateway) navigate(`/audit${query({ ...f, gatewayId: f.gatewayId.trim() })}`, { replace: true });
  };
  const clear = () => {
    const empty = { gatewayId: '', poolId: '', action: '', from: '', to: '' };
    setF(empty);
    navigate('/audit', { replace: true });
  };
  return (
    <form class="toolbar toolbar-wrap" onSubmit={apply}>
      <select name="poolId" value={f.poolId} onChange={(e) => set({ poolId: e.currentTarget.value })} aria-label="Pool">
        <option value="">All pools</option>
        {pools.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <input
        name="gatewayId"
        class={`mono-input${badGateway ? ' invalid' : ''}`}
        placeholder="Gateway id"
        value={f.gatewayId}
        onInput={(e) => set({ gatewayId: e.currentTarget.value })}
        title={badGateway ? 'a gateway id is a UUID' : 'a gateway id (UUID)'}
        aria-label="Gateway id"
      />
      <input name="action" list="audit-actions" placeholder="Action" value={f.action} onInput={(e) => set({ action: e.currentTarget.value })} aria-label="Action" />
      <datalist id="audit-actions">
        {knownActions.map((a) => (
          <option key={a} value={a} />
        ))}
      </datalist>
      <label class="inline-label">
        from <input name="from" type="datetime-local" value={f.from} onInput={(e) => set({ from: e.currentTarget.value })} />
      </label>
      <label class="inline-label">
        to <input name="to" type="datetime-local" value={f.to} onInput={(e) => set({ to: e.currentTarget.value })} />
      </label>
      <button type="submit" class="button primary" disabled={badGateway}>
        Apply
      </button>
      <button type="button" class="button button-ghost" onClick={clear}>
        Clear
      </button>
    </form>
  );
}
