import type { Sql } from 'postgres';
import type { Actor } from '../../../server/auth/actor.js';
import type { Db } from '../../../server/db/database.js';
import type { ElasticService } from '../../../server/elastic/elastic-service.js';
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
  /**
   * Partitions also last at least this long in real time (ms): on a fast machine 600 operations took
   * 3.6 s, shorter than an on-disconnect grace plus the margin, so no reclaim ever ran (CI
   * 2026-12-02, seed 14014: reclaim:reclaimed-some was 0).
   */
  longPartitionMs?: number;
  /**
   * Pools whose leases return on disconnect: while a gateway of one is partitioned, `age` leaves its
   * leases alone, since real time decides there (grace + margin); ageing them by operation count
   * expired most before the reclaim could run on a fast machine.
   */
  onDisconnectPools?: ReadonlySet<string>;
  /** Issue 21's elastic tick and pending cancels; needed by `tick` and `cancel` operations. */
  elastic?: ElasticDriver;
}

/** An elastic service on the mix's own clock (see elasticDriver in mix-runner.ts). */
export interface ElasticDriver {
  readonly service: Pick<ElasticService, 'tick' | 'cancelPending'>;
  /** Moves the service's clock on: its cooldowns and pending timeouts run on it. */
  advance(sec: number): void;
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
  | { kind: 'reclaim'; replica: number }
  /** Issue 21: the elastic tick (resizes, pending timeouts, pre-emption) after the mix's clock moved on `advanceSec`. */
  | { kind: 'tick'; advanceSec: number }
  /** Issue 21: an administrator sets a priority, with a raise that may pre-empt (`raise`) or keeping the allocation (`change`). */
  | { kind: 'priority'; variant: 'raise'; gw: number; priority: number; tags: number; connections: number; replica: number }
  | { kind: 'priority'; variant: 'change'; gw: number; priority: number; replica: number }
  /** Issue 21: an operator cancels the gateway's pending request. */
  | { kind: 'cancel'; gw: number }
  /** Issue 21: the agent borrows its points for a planned disconnect of `durationSec`. */
  | { kind: 'borrow'; gw: number; durationSec: number; replica: number }
  /** Issue 21: the agent is back and returns its borrow early: a fresh lease, acknowledged at once. */
  | { kind: 'return'; gw: number; replica: number };

/** Operations the agent itself sends: a partitioned agent sends none of them. */
export const FROM_AGENT: ReadonlySet<Op['kind']> = new Set(['grant', 'ack', 'release', 'presence', 'usage', 'borrow', 'return']);

export const admin: Actor = { kind: 'user', id: 'invariant', name: 'invariant-test', role: 'admin', via: 'token' };

const WEIGHTS = { raise: 18, lower: 10, random: 8, grant: 20, ack: 16, release: 4, presence: 6, sweep: 3, review: 2, license: 3, overdraft: 1, age: 5, usage: 4 } as const;

const SET_REFUSALS: readonly ProblemName[] = ['insufficient-points', 'pool-over-committed', 'below-usage', 'oversubscription-cap', 'license-expired'];

/** Refusals that are correct answers for an operation; anything else is a failure. */
export const EXPECTED: Record<Op['kind'], readonly ProblemName[]> = {
  // insufficient-points, pool-over-committed, license-expired: reserving only (F2).
  set: SET_REFUSALS,
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
  tick: [],
  priority: SET_REFUSALS,
  // Nothing pending.
  cancel: ['conflict'],
  // Past the pool's longest borrow (validation-failed), one live borrow already or the pool's cap (conflict).
  borrow: ['validation-failed', 'conflict'],
  return: [],
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

/**
 * Inserts issue 21's operations into a mix, drawn from their own stream (`rng`) so the base
 * sequence of a seed stays what it was. Per `every` operations, about: 4 elastic ticks, each
 * moving the mix's clock on 0–10 s (cooldowns and pending timeouts pass); 3 usage reports of
 * elastic gateways (what ticks size from); a priority raise of 1–3 shares at priority 3–9 (it
 * pre-empts lower-priority gateways when it does not fit) and a priority change; 1.5 cancels of a
 * pending request; 1.5 borrows of up to an hour (one in ten past the pool's longest), half of
 * them followed by the planned disconnect (a partition of 50–600 operations), most by an early
 * return 5–60 operations after the disconnect ends.
 */
export function withIssue21Ops(ops: readonly Op[], rng: Rng, fleet: Fleet, every = 100): Op[] {
  const elastic = fleet.gateways.flatMap((g, i) => (g.elastic ? [i] : []));
  const share = (gw: number, k: 'tags' | 'connections') => {
    const pool = fleet.gateways[gw]!.pool;
    return Math.max(1, Math.floor(pool.base[k] / pool.gateways.length));
  };
  const gateway = () => rng.int(0, fleet.gateways.length - 1);
  const returns = new Map<number, number[]>();
  const out: Op[] = [];
  for (const [i, op] of ops.entries()) {
    out.push(op);
    for (const gw of returns.get(i) ?? []) out.push({ kind: 'return', gw, replica: 0 });
    returns.delete(i);
    if (rng.chance(4 / every)) out.push({ kind: 'tick', advanceSec: rng.int(0, 10) });
    if (elastic.length && rng.chance(3 / every)) {
      const gw = rng.pick(elastic);
      out.push({ kind: 'usage', gw, tags: rng.int(0, share(gw, 'tags') * 2), connections: rng.int(0, share(gw, 'connections') * 2), replica: 0 });
    }
    if (rng.chance(1 / every)) {
      const gw = gateway();
      out.push({ kind: 'priority', variant: 'raise', gw, priority: rng.int(3, 9), tags: rng.int(share(gw, 'tags'), share(gw, 'tags') * 3), connections: rng.int(share(gw, 'connections'), share(gw, 'connections') * 3), replica: 0 });
    }
    if (rng.chance(1 / every)) out.push({ kind: 'priority', variant: 'change', gw: gateway(), priority: rng.int(-1, 6), replica: 0 });
    if (rng.chance(1.5 / every)) out.push({ kind: 'cancel', gw: gateway() });
    if (rng.chance(1.5 / every)) {
      const gw = gateway();
      out.push({ kind: 'borrow', gw, durationSec: rng.chance(0.1) ? 7200 : rng.int(60, 3600), replica: 0 });
      // Back after the disconnect (or without one): soon, before the base mix's own grant and
      // acknowledgement of a newer lease ends the borrow first.
      const away = rng.chance(0.5) ? rng.int(50, 600) : 0;
      if (away) out.push({ kind: 'partition', gw, span: away, replica: 0 });
      if (rng.chance(0.8)) {
        const at = i + away + rng.int(5, 60);
        returns.set(at, [...(returns.get(at) ?? []), gw]);
      }
    }
  }
  return out;
}
