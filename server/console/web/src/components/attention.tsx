import { Badge } from './bits.js';

/** One entry of the controller's attention list (GET /attention); the one source for alerts and badges. */
export interface AttentionItem {
  readonly kind: 'license-missing' | 'license-expired' | 'license-expiring' | 'over-committed' | 'above-alarm' | 'gateways-over-allocation';
  readonly severity: 'bad' | 'warn';
  readonly poolId: string;
  readonly poolName: string;
  readonly message: string;
  readonly gateways?: { readonly count: number; readonly sample: readonly { id: string; name: string }[] };
}

export interface AttentionList {
  readonly items: readonly AttentionItem[];
}

const short: Record<AttentionItem['kind'], string> = {
  'license-missing': 'no license',
  'license-expired': 'license expired',
  'license-expiring': 'license expiring',
  'over-committed': 'over-committed',
  'above-alarm': 'above alarm',
  'gateways-over-allocation': 'over allocation',
};

/** A pool's badges, from the same items as the list: "licensed" only when nothing about its license or commitment is wrong. */
export function PoolBadges({ items, hasLicense }: { items: readonly AttentionItem[]; hasLicense: boolean }) {
  const licenseOk = hasLicense && !items.some((i) => i.kind.startsWith('license-') || i.kind === 'over-committed');
  return (
    <>
      {licenseOk ? <Badge tone="ok">licensed</Badge> : null}
      {items.map((i) => (
        <Badge key={i.kind} tone={i.severity} title={i.message}>
          {i.kind === 'gateways-over-allocation' && i.gateways ? `${i.gateways.count} ${short[i.kind]}` : short[i.kind]}
        </Badge>
      ))}
    </>
  );
}

export function AttentionPanel({ items }: { items: readonly AttentionItem[] }) {
  if (items.length === 0) return null;
  return (
    <section class="attention" aria-labelledby="attention-title" data-attention={items.length}>
      <h2 id="attention-title">Needs attention ({items.length})</h2>
      <ul>
        {items.map((i) => (
          <li key={`${i.poolId}-${i.kind}`} data-attention-kind={i.kind} data-pool-name={i.poolName}>
            <Badge tone={i.severity}>{short[i.kind]}</Badge>
            <span>
              {i.message}
              {i.gateways ? (
                <>
                  {': '}
                  {i.gateways.sample.map((g, n) => (
                    <span key={g.id}>
                      {n > 0 ? ', ' : ''}
                      <a href={`/gateways/${g.id}`}>{g.name}</a>
                    </span>
                  ))}
                  {i.gateways.count > i.gateways.sample.length ? ` and ${i.gateways.count - i.gateways.sample.length} more` : ''}
                </>
              ) : null}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
