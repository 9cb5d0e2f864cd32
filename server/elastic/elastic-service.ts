import type { ElasticBoundsBody, ElasticBoundsView, PendingView, PoolPolicyBody, PoolPolicyView } from '../../shared/protocol/elastic.js';
import { POINT_KINDS } from '../../shared/protocol/limits.js';
import { auditStore, type AuditEntry } from '../audit/audit-store.js';
import { actorLabel, type Actor } from '../auth/actor.js';
import type { Db, Tx } from '../db/database.js';
import { AppError, notFound } from '../errors/app-error.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import type { ChangeNotifier } from '../leases/change-notifier.js';
import type { Points } from '../leases/lease-accounting.js';
import type { Contender } from '../leases/grant-policy.js';
import { poolLimit } from '../pools/capacity-policy.js';
import { poolStore, type PoolRow } from '../pools/pool-store.js';
import { decideResize, type ElasticBounds, type Kind } from './elastic-policy.js';
import { elasticStore, type ElasticRow } from './elastic-store.js';
import { planPreemption, type Holder } from './preemption-policy.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const zero = (): Points => ({ tags: 0, connections: 0 });

function boundsOf(r: Pick<ElasticRow, 'minTags' | 'maxTags' | 'minConnections' | 'maxConnections'>): Partial<Record<Kind, ElasticBounds>> {
  const out: Partial<Record<Kind, ElasticBounds>> = {};
  if (r.minTags !== null && r.maxTags !== null) out.tags = { min: r.minTags, max: r.maxTags };
  if (r.minConnections !== null && r.maxConnections !== null) out.connections = { min: r.minConnections, max: r.maxConnections };
  return out;
}

function policyView(p: PoolRow): PoolPolicyView {
  return {
    poolId: p.id,
    headroom: p.elasticHeadroom,
    step: p.elasticStep,
    cooldownSec: p.elasticCooldownSeconds,
    preemptToMin: p.preemptToMin,
    pendingTimeoutSec: p.pendingTimeoutSeconds,
    borrowMaxSec: p.borrowMaxSeconds,
    borrowMaxFraction: p.borrowMaxFraction,
    borrowsPerGateway: p.borrowsPerGateway,
  };
}

/** What one tick changed, for tests and the log. */
export interface TickReport {
  resized: number;
  preempted: number;
  timedOut: number;
}

/**
 * Elastic allocations, pre-emption by priority and pending requests (issue 21). Every change is
 * an allocation change like an administrator's: the pool row is locked first, the gateway rows in
 * id order, an audit row by a system actor says why, and the notifier pushes a fresh lease after
 * the commit. Nothing here grants points: the grant batch does, so the invariant stays where it is.
 */
export class ElasticService {
  constructor(
    private readonly db: Db,
    private readonly notifier: ChangeNotifier,
    private readonly now: () => number = Date.now,
  ) {}

  async policy(poolId: string): Promise<PoolPolicyView> {
    const p = await poolStore.get(this.db, poolId);
    if (!p) throw notFound('pool', poolId);
    return policyView(p);
  }

  async setPolicy(poolId: string, body: PoolPolicyBody, actor: Actor): Promise<PoolPolicyView> {
    const view = await this.db.transaction(async (tx) => {
      const p = await poolStore.lock(tx, poolId);
      if (!p) throw notFound('pool', poolId);
      const after = await poolStore.update(tx, poolId, {
        ...(body.headroom !== undefined ? { elasticHeadroom: body.headroom } : {}),
        ...(body.step !== undefined ? { elasticStep: body.step } : {}),
        ...(body.cooldownSec !== undefined ? { elasticCooldownSeconds: body.cooldownSec } : {}),
        ...(body.preemptToMin !== undefined ? { preemptToMin: body.preemptToMin } : {}),
        ...(body.pendingTimeoutSec !== undefined ? { pendingTimeoutSeconds: body.pendingTimeoutSec } : {}),
        ...(body.borrowMaxSec !== undefined ? { borrowMaxSeconds: body.borrowMaxSec } : {}),
        ...(body.borrowMaxFraction !== undefined ? { borrowMaxFraction: body.borrowMaxFraction } : {}),
        ...(body.borrowsPerGateway !== undefined ? { borrowsPerGateway: body.borrowsPerGateway } : {}),
      });
      await auditStore.append(tx, [{ actor: actorLabel(actor), action: 'pool.policy-updated', poolId, subject: p.name, before: policyView(p), after: policyView(after) }]);
      return policyView(after);
    });
    return view;
  }

  async bounds(gatewayId: string): Promise<ElasticBoundsView> {
    const g = await gatewayStore.get(this.db, gatewayId);
    if (!g) throw notFound('gateway', gatewayId);
    return {
      gatewayId,
      tags: g.elasticMinTags !== null && g.elasticMaxTags !== null ? { min: g.elasticMinTags, max: g.elasticMaxTags } : null,
      connections: g.elasticMinConnections !== null && g.elasticMaxConnections !== null ? { min: g.elasticMinConnections, max: g.elasticMaxConnections } : null,
      changedAt: g.elasticChangedAt?.toISOString() ?? null,
      lowSince: g.elasticLowSince?.toISOString() ?? null,
    };
  }

  /** Makes kinds elastic within [min, max] (or fixed again); the next tick sizes them. */
  async setBounds(gatewayId: string, body: ElasticBoundsBody, actor: Actor): Promise<ElasticBoundsView> {
    await this.lockedGateway(gatewayId, async (tx, g) => {
      const patch: Parameters<typeof gatewayStore.update>[2] = {};
      if (body.tags !== undefined) Object.assign(patch, { elasticMinTags: body.tags?.min ?? null, elasticMaxTags: body.tags?.max ?? null });
      if (body.connections !== undefined) Object.assign(patch, { elasticMinConnections: body.connections?.min ?? null, elasticMaxConnections: body.connections?.max ?? null });
      await gatewayStore.update(tx, gatewayId, patch);
      await auditStore.append(tx, [
        {
          actor: actorLabel(actor),
          action: 'allocation.elastic-bounds',
          poolId: g.poolId,
          gatewayId,
          subject: g.name,
          before: { tags: g.elasticMaxTags === null ? null : { min: g.elasticMinTags, max: g.elasticMaxTags }, connections: g.elasticMaxConnections === null ? null : { min: g.elasticMinConnections, max: g.elasticMaxConnections } },
          after: body,
        },
      ]);
    });
    return this.bounds(gatewayId);
  }

  /** What the gateway's pending request waits for: who owes the pool points, until when at the latest. */
  async pending(gatewayId: string): Promise<PendingView> {
    const g = await gatewayStore.get(this.db, gatewayId);
    if (!g) throw notFound('gateway', gatewayId);
    const pool = await poolStore.get(this.db, g.poolId);
    const rows = await elasticStore.readPool(this.db, g.poolId);
    const me = rows.find((r) => r.id === gatewayId);
    const pending = zero();
    if (me && me.online) for (const k of POINT_KINDS) pending[k] = Math.max(0, me.allocation[k] - me.held[k]);
    const waiting = pending.tags > 0 || pending.connections > 0;
    const owing = waiting ? rows.filter((r) => r.id !== gatewayId && POINT_KINDS.some((k) => r.held[k] > r.allocation[k])) : [];
    const until = await elasticStore.owedUntil(this.db, owing.map((r) => r.id));
    const since = waiting ? (me?.pendingSinceMs ?? null) : null;
    const timeout = pool?.pendingTimeoutSeconds ?? null;
    return {
      gatewayId,
      pending,
      since: iso(since),
      timesOutAt: since !== null && timeout !== null ? iso(since + timeout * 1000) : null,
      waitsFor: owing.map((r) => ({
        gatewayId: r.id,
        name: r.name,
        owes: { tags: Math.max(0, r.held.tags - r.allocation.tags), connections: Math.max(0, r.held.connections - r.allocation.connections) },
        until: until.get(r.id)?.toISOString() ?? null,
        online: r.online,
      })),
    };
  }

  /** Cancels a pending request: the allocation drops to what the gateway holds. */
  async cancelPending(gatewayId: string, actor: Actor): Promise<PendingView> {
    await this.lockedGateway(gatewayId, async (tx, g) => {
      const { held } = await gatewayStore.leaseInfo(tx, gatewayId);
      const alloc = { tags: Math.min(g.allocTags, held.tags), connections: Math.min(g.allocConnections, held.connections) };
      if (alloc.tags === g.allocTags && alloc.connections === g.allocConnections) throw new AppError('conflict', `gateway ${gatewayId} has no pending request`);
      await gatewayStore.update(tx, gatewayId, { allocTags: alloc.tags, allocConnections: alloc.connections, allocUpdatedAt: new Date(this.now()), pendingSince: null });
      await auditStore.append(tx, [cancelAudit(actorLabel(actor), 'allocation.pending-cancelled', g.poolId, gatewayId, g.name, { tags: g.allocTags, connections: g.allocConnections }, alloc, held)]);
    });
    this.notifier.gatewayChanged(gatewayId);
    return this.pending(gatewayId);
  }

  /** One pass over every pool with elastic or waiting gateways (the periodic resizer calls it). */
  async tick(): Promise<TickReport> {
    const report: TickReport = { resized: 0, preempted: 0, timedOut: 0 };
    for (const poolId of await elasticStore.poolsToReview(this.db)) {
      const changed = await this.db.transaction((tx) => this.reviewPool(tx, poolId, report));
      for (const id of changed) this.notifier.gatewayChanged(id);
    }
    return report;
  }

  private async reviewPool(tx: Tx, poolId: string, report: TickReport): Promise<string[]> {
    const pool = await poolStore.lock(tx, poolId);
    if (!pool) return [];
    const nowMs = this.now();
    const rows = await elasticStore.readPool(tx, poolId);
    const granting = pool.licenseExpiresAt !== null && pool.licenseExpiresAt.getTime() > nowMs && !pool.overCommitted;
    const limit = granting ? poolLimit({ tags: pool.capacityTags, connections: pool.capacityConnections }, pool.overdraftFactor) : zero();
    const pendingOf = (r: ElasticRow, k: Kind) => (r.online ? Math.max(0, r.allocation[k] - r.held[k]) : 0);
    const sum = (f: (r: ElasticRow, k: Kind) => number): Points => ({ tags: rows.reduce((s, r) => s + f(r, 'tags'), 0), connections: rows.reduce((s, r) => s + f(r, 'connections'), 0) });
    const held = sum((r, k) => r.held[k]);
    const allocated = sum((r, k) => r.allocation[k]);
    const free = sum((r, k) => -pendingOf(r, k));
    for (const k of POINT_KINDS) free[k] += limit[k] - held[k];
    // The oversubscription cap bounds growth like an administrator's raise.
    const capRoom = (k: Kind) => (pool.maxOversubscription === null ? Infinity : Math.floor(limit[k] * pool.maxOversubscription + 1e-9) - allocated[k]);
    const patches = new Map<string, Parameters<typeof elasticStore.update>[2]>();
    const audits: AuditEntry[] = [];
    const at = new Date(nowMs);
    const setAlloc = (r: ElasticRow, a: Points) => {
      r.allocation = a;
      patches.set(r.id, { ...patches.get(r.id), allocTags: a.tags, allocConnections: a.connections, allocUpdatedAt: at });
    };

    // 1. Pending requests past the pool's timeout are cancelled.
    if (pool.pendingTimeoutSeconds !== null) {
      for (const r of rows) {
        if (r.pendingSinceMs === null || nowMs - r.pendingSinceMs < pool.pendingTimeoutSeconds * 1000) continue;
        if (!POINT_KINDS.some((k) => pendingOf(r, k) > 0)) continue;
        const before = r.allocation;
        for (const k of POINT_KINDS) free[k] += pendingOf(r, k);
        setAlloc(r, { tags: Math.min(before.tags, r.held.tags), connections: Math.min(before.connections, r.held.connections) });
        patches.get(r.id)!.pendingSince = null;
        audits.push(cancelAudit('system:pending-timeout', 'allocation.pending-timed-out', poolId, r.id, r.name, before, r.allocation, r.held));
        report.timedOut += 1;
      }
    }

    // 2. Elastic resizes, higher priority first (they see the free points first).
    const policy = { headroom: pool.elasticHeadroom, step: pool.elasticStep, cooldownSec: pool.elasticCooldownSeconds };
    for (const r of [...rows].sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1))) {
      const bounds = boundsOf(r);
      if (Object.keys(bounds).length === 0 || !r.online || r.reserved) continue;
      const room = { tags: Math.min(free.tags, capRoom('tags')), connections: Math.min(free.connections, capRoom('connections')) };
      const d = decideResize({ allocation: r.allocation, usage: r.usage, bounds, changedAtMs: r.changedAtMs, lowSinceMs: r.lowSinceMs }, policy, room, nowMs);
      if (d.changed) {
        const before = r.allocation;
        for (const k of POINT_KINDS) {
          const grown = Math.max(0, d.allocation[k] - before[k]);
          free[k] -= grown;
          allocated[k] += d.allocation[k] - before[k];
        }
        setAlloc(r, d.allocation);
        Object.assign(patches.get(r.id)!, { elasticChangedAt: at, elasticLowSince: null });
        r.changedAtMs = nowMs;
        audits.push({ actor: 'system:elastic', action: 'allocation.elastic', poolId, gatewayId: r.id, subject: r.name, before: { ...before, usage: r.usage }, after: { ...d.allocation, reason: d.reason } });
        report.resized += 1;
      } else if (d.lowSinceMs !== r.lowSinceMs) {
        patches.set(r.id, { ...patches.get(r.id), elasticLowSince: d.lowSinceMs === null ? null : new Date(d.lowSinceMs) });
      }
    }

    // 3. Pre-emption: waiters the free points cannot serve take from lower-priority elastic holders.
    const waiters: Contender[] = rows
      .filter((r) => POINT_KINDS.some((k) => pendingOf(r, k) > 0))
      .map((r) => ({ gatewayId: r.id, priority: r.priority, sinceMs: r.pendingSinceMs ?? nowMs, allocation: r.allocation, held: r.held, granting: false }));
    if (waiters.length) {
      const holders: Holder[] = rows
        .filter((r) => !r.reserved)
        .map((r) => {
          const b = boundsOf(r);
          return { gatewayId: r.id, priority: r.priority, allocation: r.allocation, held: r.held, usage: r.usage ?? zero(), min: { ...(b.tags ? { tags: b.tags.min } : {}), ...(b.connections ? { connections: b.connections.min } : {}) } };
        });
      const heldFree = { tags: limit.tags - held.tags, connections: limit.connections - held.connections };
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const p of planPreemption(heldFree, waiters, holders, pool.preemptToMin)) {
        const r = byId.get(p.victimId)!;
        const before = r.allocation;
        setAlloc(r, p.allocation);
        Object.assign(patches.get(r.id)!, { elasticChangedAt: at, elasticLowSince: null });
        audits.push({
          actor: 'system:preemption',
          action: 'allocation.preempted',
          poolId,
          gatewayId: r.id,
          subject: r.name,
          before: { ...before, priority: r.priority, usage: r.usage },
          after: { ...p.allocation, for: p.forIds, depth: p.depth, reason: `pending points of higher-priority ${p.forIds.join(', ')} not servable from free points; taking ${p.depth === 'min' ? 'down to min' : 'unused headroom'}` },
        });
        report.preempted += 1;
      }
    }

    if (patches.size === 0) return [];
    await elasticStore.lockGateways(tx, [...patches.keys()]);
    for (const [id, patch] of [...patches].sort(([a], [b]) => (a < b ? -1 : 1))) await elasticStore.update(tx, id, patch);
    await auditStore.append(tx, audits);
    return [...patches].filter(([, p]) => p.allocTags !== undefined).map(([id]) => id);
  }

  private async lockedGateway(gatewayId: string, fn: (tx: Tx, g: NonNullable<Awaited<ReturnType<typeof gatewayStore.lock>>>) => Promise<void>): Promise<void> {
    await this.db.transaction(async (tx) => {
      const peek = await gatewayStore.get(tx, gatewayId);
      if (!peek) throw notFound('gateway', gatewayId);
      await poolStore.lock(tx, peek.poolId);
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) throw notFound('gateway', gatewayId);
      if (g.revokedAt) throw new AppError('conflict', `gateway ${gatewayId} is decommissioned`);
      await fn(tx, g);
    });
  }
}

function cancelAudit(actor: string, action: string, poolId: string, gatewayId: string, name: string, before: Points, after: Points, held: Points): AuditEntry {
  return { actor, action, poolId, gatewayId, subject: name, before: { ...before }, after: { ...after, held, reason: 'pending request cancelled; the allocation is what the gateway holds' } };
}
