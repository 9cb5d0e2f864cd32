import type { Harness } from '../../helpers/api-harness.js';
import type { Points } from './invariant-checker.js';

export interface PoolSpec {
  capacity: Points;
  settings?: { leaseTtlSeconds?: number; reclaim?: 'on-expiry' | 'on-disconnect'; overdraftFactor?: number; grantMode?: 'partial' | 'all-or-nothing'; maxOversubscription?: number };
  gateways: number;
}

interface FleetPool {
  id: string;
  /** The capacity of the pool's first license; license uploads vary around it. */
  base: Points;
  gateways: string[];
}

export interface Fleet {
  pools: FleetPool[];
  /** Every gateway with the index of its pool. */
  gateways: { id: string; pool: FleetPool }[];
}

/** Pools with signed licenses and enrolled gateways, through the REST API. */
export async function buildFleet(h: Harness, specs: readonly PoolSpec[]): Promise<Fleet> {
  const pools: FleetPool[] = [];
  for (const spec of specs) {
    const id = await h.pool({ tags: spec.capacity.tags, connections: spec.capacity.connections, plugins: [], settings: { ...spec.settings } });
    const code = await h.code(id, spec.gateways);
    const gateways = await Promise.all(Array.from({ length: spec.gateways }, async () => (await h.enroll(code)).gatewayId));
    pools.push({ id, base: spec.capacity, gateways });
  }
  return { pools, gateways: pools.flatMap((pool) => pool.gateways.map((id) => ({ id, pool }))) };
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
