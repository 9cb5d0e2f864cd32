import type { PoolView } from '../../api/types.js';
import { PoolBadges, type AttentionItem } from '../../components/attention.js';
import { Chips } from '../../components/bits.js';
import { PoolUsageBars } from '../../components/bars.js';
import { date, num, relative } from '../../format.js';

export function PoolCard({ pool, attention, canAdmin, onUpload }: { pool: PoolView; attention: readonly AttentionItem[]; canAdmin: boolean; onUpload: () => void }) {
  const p = pool;
  return (
    <article class={`card pool-card${p.licenseExpired || p.overCommitted ? ' card-alert' : ''}`} data-pool={p.name}>
      <header class="card-head">
        <div>
          <h3>
            <a href={`/pools/${p.id}`}>{p.name}</a>
          </h3>
          {p.description ? <div class="muted small">{p.description}</div> : null}
        </div>
        <div class="badges">
          <PoolBadges items={attention} hasLicense={!!p.license} />
        </div>
      </header>
      {p.licenseExpired && p.license ? (
        <div class="banner banner-bad" data-alert="expired">
          <strong>License expired {relative(p.license.expiresAt)}</strong> ({date(p.license.expiresAt)}). No new points are granted and leases are not renewed: gateways fall back to
          the trial allowance when their leases run out. Upload a new license.
        </div>
      ) : null}
      {p.overCommitted ? (
        <div class="banner banner-bad" data-alert="over-committed">
          <strong>Over-committed.</strong> Gateways hold more than the license allows; no new points are granted until it fits again. Lower allocations or upload a larger
          license.
        </div>
      ) : null}
      {!p.license ? <div class="banner banner-warn">No license yet: this pool has no capacity until one is uploaded.</div> : null}
      <div class="bars">
        <PoolUsageBars pool={p} />
      </div>
      <dl class="facts">
        <div>
          <dt>Gateways</dt>
          <dd>
            <b>{num(p.gateways.online)}</b> online of {num(p.gateways.total)}
          </dd>
        </div>
        <div>
          <dt>License</dt>
          <dd>{p.license ? `${p.license.customer}, until ${date(p.license.expiresAt)}` : '—'}</dd>
        </div>
        <div>
          <dt>Leases</dt>
          <dd>
            {p.leaseTtlSeconds} s, reclaim {p.reclaim === 'on-expiry' ? 'at expiry' : 'on disconnect'}
            {p.overdraftFactor > 1 ? `, overdraft ×${p.overdraftFactor}` : ''}
          </dd>
        </div>
        <div>
          <dt>Plugins</dt>
          <dd>
            <Chips items={p.plugins} />
          </dd>
        </div>
      </dl>
      <footer class="card-foot">
        <a class="button" href={`/pools/${p.id}`} data-pool-details>
          Details
        </a>
        <a class="button" href={`/gateways?poolId=${p.id}`}>
          Gateways
        </a>
        <a class="button" href={`/codes?poolId=${p.id}`}>
          Activation codes
        </a>
        <a class="button button-ghost" href={`/audit?poolId=${p.id}`}>
          History
        </a>
        {canAdmin ? (
          <button type="button" class="button primary push-right" onClick={onUpload}>
            Upload license
          </button>
        ) : null}
      </footer>
    </article>
  );
}
