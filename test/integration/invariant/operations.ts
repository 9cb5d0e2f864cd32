import type { Sql } from 'postgres';
import type { Actor } from '../../../server/auth/actor.js';
import type { Db } from '../../../server/db/database.js';
import type { Services } from '../../../server/services.js';
import type { ProblemName } from '../../../shared/protocol/problem.js';
import type { Fleet } from './fleet.js';
import type { Rng } from './prng.js';

/** One controller replica: its services and its database handle. */
export interface Replica {
  services: Pick<Services, 'pools' | 'gateways' | 'leases' | 'leaseEndings' | 'presence'>;
  db: Db;
}

export interface MixContext {
  replicas: readonly Replica[];
  /** Test-side SQL (ageing leases stands in for time passing). */
  sql: Sql;
  fleet: Fleet;
  license(points: { tags: number; connections: number }): Promise<string>;
  /** The skew margin the `reclaim` operation passes (seconds); 1 by default. */
  reclaimMarginSec?: number;
}

export type Op =
  | { kind: 'set'; variant: 'raise' | 'lower' | 'random'; gw: number; tags: number; connections: number; force: boolean; reserved: boolean; replica: number }
  | { kind: 'grant'; gw: number; renewal: boolean; replica: number }
  | { kind: 'ack'; gw: number; back: number; foreign: boolean; replica: number }
  | { kind: 'release'; gw: number; replica: number }
  | { kind: 'presence'; gw: number; online: boolean; replica: number }
  | { kind: 'sweep'; replica: number }
  | { kind: 'review'; replica: number }
  | { kind: 'license'; variant: 'bigger' | 'smaller' | 'smaller-forced'; pool: number; tags: number; connections: number; replica: number }
  | { kind: 'overdraft'; pool: number; factor: number; replica: number }
  | { kind: 'age'; gw: number; all: boolean }
  | { kind: 'usage'; gw: number; tags: number; connections: number; replica: number }
  /** The gateway's agent is cut off (its transport drops) and reaches the controller again `span` operations later. */
  | { kind: 'partition'; gw: number; span: number; replica: number }
  /** reclaim on-disconnect: the sweeper's half (grace + margin after the controller lost the gateway). */
  | { kind: 'reclaim'; replica: number };

/** Operations the agent itself sends: a partitioned agent sends none of them. */
export const FROM_AGENT: ReadonlySet<Op['kind']> = new Set(['grant', 'ack', 'release', 'presence', 'usage']);

export const admin: Actor = { kind: 'user', id: 'invariant', name: 'invariant-test', role: 'admin', via: 'token' };

const WEIGHTS = { raise: 18, lower: 10, random: 8, grant: 20, ack: 16, release: 4, presence: 6, sweep: 3, review: 2, license: 3, overdraft: 1, age: 5, usage: 4 } as const;

/** Refusals that are correct answers for an operation; anything else is a failure. */
export const EXPECTED: Record<Op['kind'], readonly ProblemName[]> = {
  // insufficient-points, pool-over-committed, license-expired: reserving only (F2).
  set: ['insufficient-points', 'pool-over-committed', 'below-usage', 'oversubscription-cap', 'license-expired'],
  grant: [],
  ack: ['not-found'],
  release: [],
  presence: [],
  sweep: [],
  review: [],
  license: ['license-shortfall'],
  overdraft: ['license-shortfall'],
  age: [],
  usage: [],
  partition: [],
  reclaim: [],
};

/** The next operation; drawn from the seed alone (never from run-time state) so a seed replays. */
export function nextOp(rng: Rng, fleet: Fleet, replicas: number): Op {
  const gw = rng.int(0, fleet.gateways.length - 1);
  const pool = fleet.gateways[gw]!.pool;
  const share = (k: 'tags' | 'connections') => Math.max(1, Math.floor(pool.base[k] / pool.gateways.length));
  const replica = rng.int(0, replicas - 1);
  const kind = rng.weighted(WEIGHTS);
  switch (kind) {
    case 'raise':
      return { kind: 'set', variant: 'raise', gw, tags: rng.int(share('tags') / 2, share('tags') * 2), connections: rng.int(share('connections') / 2, share('connections') * 2), force: false, reserved: rng.chance(0.15), replica };
    case 'lower':
      return { kind: 'set', variant: 'lower', gw, tags: rng.int(0, share('tags') / 3), connections: rng.int(0, share('connections') / 3), force: rng.chance(0.5), reserved: rng.chance(0.15), replica };
    case 'random':
      return { kind: 'set', variant: 'random', gw, tags: rng.int(0, share('tags') * 1.5), connections: rng.int(0, share('connections') * 1.5), force: rng.chance(0.3), reserved: rng.chance(0.15), replica };
    case 'grant':
      return { kind: 'grant', gw, renewal: rng.chance(0.7), replica };
    case 'ack':
      return { kind: 'ack', gw, back: rng.chance(0.6) ? 0 : rng.int(1, 6), foreign: rng.chance(0.03), replica };
    case 'release':
      return { kind: 'release', gw, replica };
    case 'presence':
      return { kind: 'presence', gw, online: rng.chance(0.5), replica };
    case 'sweep':
      return { kind: 'sweep', replica };
    case 'review':
      return { kind: 'review', replica };
    case 'license': {
      const p = rng.int(0, fleet.pools.length - 1);
      const base = fleet.pools[p]!.base;
      const variant = rng.pick(['bigger', 'smaller', 'smaller-forced'] as const);
      const f = variant === 'bigger' ? 1 + rng.next() * 0.6 : 0.4 + rng.next() * 0.6;
      return { kind: 'license', variant, pool: p, tags: Math.floor(base.tags * f), connections: Math.floor(base.connections * f), replica };
    }
    case 'overdraft':
      // Factors a float4 column holds exactly, so the checker's limit arithmetic is exact too.
      return { kind: 'overdraft', pool: rng.int(0, fleet.pools.length - 1), factor: rng.pick([1, 1.25, 1.5]), replica };
    case 'age':
      return { kind: 'age', gw, all: rng.chance(0.5) };
    case 'usage':
      return { kind: 'usage', gw, tags: rng.int(0, share('tags')), connections: rng.int(0, share('connections')), replica };
  }
}

/**
 * Inserts partitions and reclaim sweeps into a mix, drawn from their own stream (`rng`) so the
 * base sequence of a seed stays what it was: about one partition per `every` operations, half of
 * them on gateways of `reclaim: on-disconnect` pools, lasting 50–600 operations (a few seconds to
 * longer than a 5 s grace plus margin at the mix's pace), and a reclaim sweep per `every / 2`.
 */
export function withPartitions(ops: readonly Op[], rng: Rng, fleet: Fleet, onDisconnectPools: ReadonlySet<string>, every = 100): Op[] {
  const onDisconnect = fleet.gateways.flatMap((g, i) => (onDisconnectPools.has(g.pool.id) ? [i] : []));
  const out: Op[] = [];
  for (const op of ops) {
    out.push(op);
    if (rng.chance(1 / every)) {
      const gw = onDisconnect.length && rng.chance(0.5) ? rng.pick(onDisconnect) : rng.int(0, fleet.gateways.length - 1);
      out.push({ kind: 'partition', gw, span: rng.int(50, 600), replica: 0 });
    }
    if (rng.chance(2 / every)) out.push({ kind: 'reclaim', replica: 0 });
  }
  return out;
}
