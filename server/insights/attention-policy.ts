import type { PoolView } from '../../shared/protocol/rest.js';

/** How long before its expiry a license starts asking for attention. */
const EXPIRY_NOTICE_DAYS = 30;

type AttentionKind = 'license-missing' | 'license-expired' | 'license-expiring' | 'over-committed' | 'above-alarm' | 'gateways-over-allocation';

export interface AttentionItem {
  readonly kind: AttentionKind;
  readonly severity: 'bad' | 'warn';
  readonly poolId: string;
  readonly poolName: string;
  /** One sentence for a person. */
  readonly message: string;
  /** For gateways-over-allocation: how many, and some of them by name. */
  readonly gateways?: { readonly count: number; readonly sample: readonly { id: string; name: string }[] };
}

export interface OverAllocation {
  readonly poolId: string;
  readonly count: number;
  readonly sample: readonly { id: string; name: string }[];
}

const DAY_MS = 86_400_000;
const pct = (r: number) => `${Math.round(r * 100)} %`;

/**
 * The one list of what needs a person, per pool: the console's banner, badge counts and the
 * attention list all come from here, so they cannot disagree.
 */
export function attentionItems(pools: readonly PoolView[], over: readonly OverAllocation[], now: number): AttentionItem[] {
  const items: AttentionItem[] = [];
  const overByPool = new Map(over.map((o) => [o.poolId, o]));
  for (const p of pools) {
    const at = { poolId: p.id, poolName: p.name };
    if (!p.license) {
      items.push({ ...at, kind: 'license-missing', severity: 'warn', message: `${p.name} has no license: it has no capacity until one is uploaded` });
    } else {
      const left = new Date(p.license.expiresAt).getTime() - now;
      if (p.licenseExpired || left <= 0) {
        items.push({ ...at, kind: 'license-expired', severity: 'bad', message: `${p.name}'s license expired on ${p.license.expiresAt.slice(0, 10)}; no points are granted or renewed` });
      } else if (left <= EXPIRY_NOTICE_DAYS * DAY_MS) {
        const days = Math.ceil(left / DAY_MS);
        items.push({ ...at, kind: 'license-expiring', severity: 'warn', message: `${p.name}'s license expires in ${days} ${days === 1 ? 'day' : 'days'} (${p.license.expiresAt.slice(0, 10)})` });
      }
    }
    if (p.overCommitted) {
      items.push({ ...at, kind: 'over-committed', severity: 'bad', message: `${p.name} is over-committed: gateways hold more than its license allows; nothing new is granted` });
    } else {
      const high = (['tags', 'connections'] as const).filter((k) => p.limit[k] > 0 && p.utilization[k] >= p.alarmRaiseRatio);
      if (high.length) {
        items.push({
          ...at,
          kind: 'above-alarm',
          severity: 'warn',
          message: `${p.name} is above its alarm threshold of ${pct(p.alarmRaiseRatio)}: ${high.map((k) => `${k} ${pct(p.utilization[k])} held`).join(', ')}`,
        });
      }
    }
    const o = overByPool.get(p.id);
    if (o && o.count > 0) {
      items.push({
        ...at,
        kind: 'gateways-over-allocation',
        severity: 'warn',
        message: `${o.count} ${o.count === 1 ? 'gateway uses' : 'gateways use'} more than allocated in ${p.name}`,
        gateways: { count: o.count, sample: o.sample },
      });
    }
  }
  const rank = { bad: 0, warn: 1 } as const;
  return items.sort((a, b) => rank[a.severity] - rank[b.severity]);
}
