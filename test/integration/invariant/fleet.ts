import type { ElasticBoundsBody, PoolPolicyBody } from '../../../shared/protocol/elastic.js';
import type { Harness } from '../../helpers/api-harness.js';
import type { Points } from './invariant-checker.js';

/** Issue 21: a gateway's priority and elastic ranges (absent: priority 0, a fixed allocation). */
interface GatewaySpec {
  priority?: number;
  elastic?: ElasticBoundsBody;
}

export interface PoolSpec {
  capacity: Points;
  settings?: { leaseTtlSeconds?: number; reclaim?: 'on-expiry' | 'on-disconnect'; overdraftFactor?: number; grantMode?: 'partial' | 'all-or-nothing'; maxOversubscription?: number };
  gateways: number;
  /** Issue 21: the pool's elastic, pre-emption, pending-timeout and borrowing policy. */
  policy?: PoolPolicyBody;
  /** Issue 21: the spec of the pool's `i`th gateway. */
  gateway?: (i: number) => GatewaySpec;
}

interface FleetPool {
  id: string;
  /** The capacity of the pool's first license; license uploads vary around it. */
  base: Points;
  gateways: string[];
}

export interface Fleet {
  pools: FleetPool[];
  /** Every gateway with the index of its pool; `elastic`: it has an elastic range (issue 21). */
  gateways: { id: string; pool: FleetPool; elastic: boolean }[];
}

/** Pools with signed licenses and enrolled gateways, through the REST API. */
export async function buildFleet(h: Harness, specs: readonly PoolSpec[]): Promise<Fleet> {
  const pools: FleetPool[] = [];
  const elastic = new Set<string>();
  for (const spec of specs) {
    const id = await h.pool({ tags: spec.capacity.tags, connections: spec.capacity.connections, plugins: [], settings: { ...spec.settings } });
    const code = await h.code(id, spec.gateways);
    const gateways = await Promise.all(Array.from({ length: spec.gateways }, async () => (await h.enroll(code)).gatewayId));
    if (spec.policy) await expectOk(h.api('PUT', `/api/v1/pools/${id}/policy`, spec.policy));
    for (const [i, gatewayId] of gateways.entries()) {
      const g = spec.gateway?.(i);
      // Enrolled gateways start at 0 points: the allocation call only sets the priority.
      if (g?.priority !== undefined) await expectOk(h.api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 0, connections: 0, priority: g.priority }));
      if (g?.elastic) await expectOk(h.api('PUT', `/api/v1/gateways/${gatewayId}/elastic`, g.elastic));
      if (g?.elastic) elastic.add(gatewayId);
    }
    pools.push({ id, base: spec.capacity, gateways });
  }
  return { pools, gateways: pools.flatMap((pool) => pool.gateways.map((id) => ({ id, pool, elastic: elastic.has(id) }))) };
}

async function expectOk(r: ReturnType<Harness['api']>): Promise<void> {
  const res = await r;
  if (res.status !== 200) throw new Error(`fleet setup failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * Three pools, 20 gateways: one plain (partial grants), one `reclaim: on-disconnect` granting
 * all-or-nothing, one with overdraft, the shortest TTL and an oversubscription cap of 2.
 */
export const STANDARD_POOLS: readonly PoolSpec[] = [
  { capacity: { tags: 1000, connections: 100 }, gateways: 8 },
  { capacity: { tags: 600, connections: 60 }, settings: { reclaim: 'on-disconnect', grantMode: 'all-or-nothing' }, gateways: 6 },
  { capacity: { tags: 400, connections: 40 }, settings: { overdraftFactor: 1.25, leaseTtlSeconds: 15, maxOversubscription: 2 }, gateways: 6 },
];

/**
 * STANDARD_POOLS with issue 21's features (the floating test's fleet): priorities 0, 2 and 5 in
 * turn, every other gateway elastic (tags from a quarter of its share to twice it, connections from
 * 1), a 30 s cooldown on the mix's clock; pre-emption down to min in the on-disconnect pool, a
 * pending timeout of 120 s in the third; borrowing up to an hour everywhere, capped at a quarter
 * of capacity in the third pool and half elsewhere, one live borrow per gateway.
 */
export const ELASTIC_POOLS: readonly PoolSpec[] = STANDARD_POOLS.map((p, n) => {
  const share = (k: keyof Points) => Math.floor(p.capacity[k] / p.gateways);
  return {
    ...p,
    policy: {
      headroom: 0.25,
      step: 0.25,
      cooldownSec: 30,
      preemptToMin: n === 1,
      pendingTimeoutSec: n === 2 ? 120 : null,
      borrowMaxSec: 3600,
      borrowMaxFraction: n === 2 ? 0.25 : 0.5,
      borrowsPerGateway: 1,
    },
    gateway: (i) => ({
      priority: [0, 2, 5][i % 3]!,
      ...(i % 2 === 0 ? { elastic: { tags: { min: Math.floor(share('tags') / 4), max: share('tags') * 2 }, connections: { min: 1, max: share('connections') * 2 } } } : {}),
    }),
  };
});
