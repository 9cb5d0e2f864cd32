import { useState } from 'preact/hooks';
import { query } from '../../api/client.js';
import type { PoolView } from '../../api/types.js';
import { navigate } from '../../router.js';

const knownActions = [
  'allocation.changed',
  'allocation.changed.forced',
  'allocation.released',
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
  'lease.offline-issued',
  'lease.offline-loaded',
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
  /** A gateway's name (or id) as typed. */
  readonly gateway: string;
  readonly hideRenewals: boolean;
  readonly poolId: string;
  readonly action: string;
  /** datetime-local values (local time), turned into ISO instants for the API. */
  readonly from: string;
  readonly to: string;
}

export const readAuditFilters = (p: URLSearchParams): AuditFilters => ({
  gatewayId: p.get('gatewayId') ?? '',
  gateway: p.get('gateway') ?? '',
  hideRenewals: p.get('hideRenewals') === 'true',
  poolId: p.get('poolId') ?? '',
  action: p.get('action') ?? '',
  from: p.get('from') ?? '',
  to: p.get('to') ?? '',
});

const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);

export function auditApiQuery(f: AuditFilters, before?: number): string {
  return query({ gatewayId: f.gatewayId, gateway: f.gateway, hideRenewals: f.hideRenewals || undefined, poolId: f.poolId, action: f.action, from: iso(f.from), to: iso(f.to), limit: 50, before });
}

/** The same filters for the CSV export, which streams every matching event (no page size, no cursor). */
export function auditExportQuery(f: AuditFilters): string {
  return query({ gatewayId: f.gatewayId, gateway: f.gateway, hideRenewals: f.hideRenewals || undefined, poolId: f.poolId, action: f.action, from: iso(f.from), to: iso(f.to) });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The URL of the audit view for these filters: an id typed into the gateway field stays an id. */
function auditHref(f: AuditFilters): string {
  const typed = f.gateway.trim();
  const byId = UUID.test(typed);
  return `/audit${query({
    poolId: f.poolId,
    gatewayId: byId ? typed : typed ? '' : f.gatewayId,
    gateway: byId ? '' : typed,
    action: f.action,
    from: f.from,
    to: f.to,
    hideRenewals: f.hideRenewals || undefined,
  })}`;
}

export function AuditFilterBar({ value, pools }: { value: AuditFilters; pools: readonly PoolView[] }) {
  const [f, setF] = useState<AuditFilters>({ ...value, gateway: value.gateway || value.gatewayId });
  const set = (patch: Partial<AuditFilters>) => setF((cur) => ({ ...cur, ...patch }));
  const apply = (e: Event) => {
    e.preventDefault();
    navigate(auditHref({ ...f, gatewayId: '' }), { replace: true });
  };
  const clear = () => {
    setF({ gatewayId: '', gateway: '', hideRenewals: false, poolId: '', action: '', from: '', to: '' });
    navigate('/audit', { replace: true });
  };
  const toggleRenewals = (hide: boolean) => {
    set({ hideRenewals: hide });
    // Applies at once, to the filters already applied (not half-typed ones).
    navigate(auditHref({ ...value, hideRenewals: hide }), { replace: true });
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
        name="gateway"
        placeholder="Gateway name or id"
        value={f.gateway}
        onInput={(e) => set({ gateway: e.currentTarget.value })}
        title="a gateway's name (exact, any case) or its id"
        aria-label="Gateway name or id"
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
      <label class="check">
        <input type="checkbox" name="hideRenewals" checked={f.hideRenewals} onChange={(e) => toggleRenewals(e.currentTarget.checked)} /> Hide lease renewals
      </label>
      <button type="submit" class="button primary">
        Apply
      </button>
      <button type="button" class="button button-ghost" onClick={clear}>
        Clear
      </button>
    </form>
  );
}
