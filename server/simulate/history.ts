import type { ElasticBounds, Kind } from '../elastic/elastic-policy.js';
import type { Points } from '../leases/lease-accounting.js';
import type { SimEvent, SimGateway } from './replay.js';

/**
 * One recorded fact of a pool's history, as read from the audit trail and the usage history: the
 * points before and after (an allocation change; `after` is the usage of a `usage` row) and a
 * borrowed lease's expiry (epoch seconds), when the row has them.
 */
export interface HistoryRow {
  readonly at: number;
  readonly gatewayId: string;
  readonly action: string;
  readonly before: Points | null;
  readonly after: Points | null;
  readonly exp: number | null;
}

export interface GatewayNow {
  readonly id: string;
  readonly priority: number;
  readonly online: boolean;
  readonly allocation: Points;
  readonly bounds: Partial<Record<Kind, ElasticBounds>>;
}

const ALLOCATION = new Set(['allocation.changed', 'allocation.changed.forced', 'allocation.released', 'allocation.elastic', 'allocation.preempted', 'allocation.pending-cancelled', 'allocation.pending-timed-out']);
const ONLINE = new Set(['lease.granted', 'lease.renewed', 'lease.borrowed']);

/**
 * A pool's recorded history as replay input (pure). Allocation changes come from the audit trail
 * (the first one's `before` is the starting allocation); presence from `gateway.offline` and, for
 * coming back, the first lease granted after it; borrows from `lease.borrowed`; releases from
 * `lease.released`; usage from the usage history (action `usage`). A gateway's starting presence is
 * the opposite of its first presence change, or its presence now when it has none. Elastic
 * bounds are today's (the history does not record earlier ones). Rows must be sorted by time.
 */
export function historyToEvents(gatewaysNow: readonly GatewayNow[], rows: readonly HistoryRow[]): { gateways: SimGateway[]; events: SimEvent[] } {
  const index = new Map(gatewaysNow.map((g, i) => [g.id, i]));
  const startAlloc = gatewaysNow.map((g) => g.allocation);
  const seenAlloc = new Set<number>();
  const firstPresence = new Map<number, boolean>();
  const events: SimEvent[] = [];
  const online: boolean[] = [];
  // First pass: starting allocation and presence.
  for (const r of rows) {
    const gw = index.get(r.gatewayId);
    if (gw === undefined) continue;
    if (ALLOCATION.has(r.action) && !seenAlloc.has(gw)) {
      seenAlloc.add(gw);
      if (r.before) startAlloc[gw] = r.before;
    }
    if (!firstPresence.has(gw) && r.action === 'gateway.offline') firstPresence.set(gw, true);
    if (!firstPresence.has(gw) && ONLINE.has(r.action)) firstPresence.set(gw, false);
  }
  gatewaysNow.forEach((g, i) => (online[i] = firstPresence.get(i) ?? g.online));
  const gateways: SimGateway[] = gatewaysNow.map((g, i) => ({ priority: g.priority, allocation: startAlloc[i]!, online: online[i]!, ...(Object.keys(g.bounds).length ? { bounds: g.bounds } : {}) }));
  const state = [...online];
  for (const r of rows) {
    const gw = index.get(r.gatewayId);
    if (gw === undefined) continue;
    const t = r.at;
    if (ALLOCATION.has(r.action)) {
      if (r.after) events.push({ t, kind: 'alloc', gw, points: r.after });
    } else if (r.action === 'usage') {
      if (r.after) events.push({ t, kind: 'usage', gw, points: r.after });
    } else if (r.action === 'gateway.offline') {
      if (state[gw]) events.push({ t, kind: 'presence', gw, online: false });
      state[gw] = false;
    } else if (ONLINE.has(r.action)) {
      if (!state[gw]) events.push({ t, kind: 'presence', gw, online: true });
      state[gw] = true;
      if (r.action === 'lease.borrowed') {
        const exp = r.exp;
        if (exp !== null && Number.isFinite(exp)) events.push({ t, kind: 'borrow', gw, durationSec: Math.max(0, Math.round(exp - t / 1000)) });
      }
    } else if (r.action === 'lease.released') events.push({ t, kind: 'release', gw });
  }
  return { gateways, events };
}
