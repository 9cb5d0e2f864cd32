import type { GatewayPage, GatewayView } from '../../shared/protocol/rest.js';
import { auditStore } from '../audit/audit-store.js';
import { actorLabel, type Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import type { EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import { AppError, notFound } from '../errors/app-error.js';
import type { ChangeNotifier } from '../leases/change-notifier.js';
import { POINT_KINDS, oversubscriptionExcess, poolLimit, raiseShortfalls } from '../pools/capacity-policy.js';
import { decideGrant } from '../leases/grant-policy.js';
import { noCredentialSink, type CredentialSink } from '../mqtt/dynsec-provisioner.js';
import { poolStore } from '../pools/pool-store.js';
import { BINDING_RESET, gatewayStore, type GatewayFilter, type GatewayListFilter } from './gateway-store.js';
import { gatewayView } from './gateway-view.js';
import { usageHistoryStore } from '../simulate/usage-history-store.js';

export interface AllocationRequest {
  tags: number;
  connections: number;
  plugins?: string[] | undefined;
  force?: boolean | undefined;
  reserved?: boolean | undefined;
  priority?: number | undefined;
}

export class GatewayService {
  constructor(
    private readonly db: Db,
    private readonly notifier: ChangeNotifier,
    private readonly credentials: CredentialSink = noCredentialSink,
    private readonly events?: EventBus,
    private readonly logger?: Logger,
  ) {}

  async get(id: string): Promise<GatewayView> {
    const g = await gatewayStore.get(this.db, id);
    if (!g) throw notFound('gateway', id);
    return gatewayView(g, await gatewayStore.leaseInfo(this.db, id));
  }

  async list(filter: GatewayListFilter): Promise<GatewayPage> {
    const { total, rows, info } = await gatewayStore.list(this.db, filter);
    return { total, items: rows.map((g) => gatewayView(g, info.get(g.id)!)) };
  }

  /** The ids "select all matching the filter" selects, in list order, at most `max`. */
  async ids(filter: GatewayFilter, max: number): Promise<{ total: number; ids: string[]; truncated: boolean }> {
    const { total, ids } = await gatewayStore.ids(this.db, filter, max);
    return { total, ids, truncated: total > ids.length };
  }

  /** Every gateway the filter matches, a page at a time (for the CSV export). */
  async *pages(filter: GatewayFilter, pageSize = 1000): AsyncGenerator<GatewayView[]> {
    for (let offset = 0; ; offset += pageSize) {
      const page = await this.list({ ...filter, limit: pageSize, offset });
      if (page.items.length) yield page.items;
      if (page.items.length < pageSize) return;
    }
  }

  /**
   * Sets a gateway's allocation (an entitlement, F2). The pool row is locked first, so concurrent
   * changes and grants in one pool serialise: no count-then-insert race. Raising is refused only
   * by the oversubscription cap (or, for a reserved gateway, the free points it must hold at once).
   */
  async setAllocation(id: string, req: AllocationRequest, actor: Actor, opts: { release?: boolean } = {}): Promise<GatewayView> {
    let outcome: NonNullable<GatewayView['allocationOutcome']> | undefined;
    await this.db.transaction(async (tx) => {
      const peek = await gatewayStore.get(tx, id);
      if (!peek) throw notFound('gateway', id);
      const pool = await poolStore.lock(tx, peek.poolId);
      const g = await gatewayStore.lock(tx, id);
      if (!pool || !g) throw notFound('gateway', id);
      if (g.revokedAt) throw new AppError('conflict', `gateway ${id} is decommissioned`);
      const plugins = req.plugins ?? g.allocPlugins;
      const unknown = plugins.filter((p) => !pool.plugins.includes(p));
      if (unknown.length) {
        throw new AppError('validation-failed', `body.plugins: not enabled by the pool's license: ${unknown.join(', ')}`, {
          errors: [{ path: 'body.plugins', message: `not enabled by the pool's license: ${unknown.join(', ')}` }],
          poolPlugins: pool.plugins,
        });
      }
      const requested = { tags: req.tags, connections: req.connections };
      const usage = { tags: g.usageTags ?? 0, connections: g.usageConnections ?? 0 };
      // Only a kind being lowered below its usage needs force: a raise that still stays below usage
      // takes the gateway closer to fitting, and refusing it would keep it further from that.
      const current = { tags: g.allocTags, connections: g.allocConnections };
      const below = POINT_KINDS.filter((k) => requested[k] < usage[k] && requested[k] < current[k]);
      if (below.length && !req.force) {
        // NeuronEX refuses the same with 13008: allocated tags below those in use.
        throw new AppError(
          'below-usage',
          `lowering below what the gateway uses (${below.map((k) => `${k} ${usage[k]} in use > ${requested[k]}`).join(', ')}) over-uses its lease: ` +
            `its agent then refuses every new ${below.join(' and ')} and, with the stop-excess policy, stops south nodes newest first until usage fits. ` +
            `Send force: true to lower it anyway`,
          { requested, inUse: usage, code: 13008 },
        );
      }
      const reserved = req.reserved ?? g.reserved;
      const totals = await poolStore.totals(tx, pool.id);
      const info = await gatewayStore.leaseInfo(tx, id);
      const limit = poolLimit({ tags: pool.capacityTags, connections: pool.capacityConnections }, pool.overdraftFactor);
      const raising = requested.tags > g.allocTags || requested.connections > g.allocConnections;
      if (raising) {
        const allocatedAfter = { tags: totals.allocated.tags - g.allocTags + requested.tags, connections: totals.allocated.connections - g.allocConnections + requested.connections };
        const excess = oversubscriptionExcess(allocatedAfter, limit, pool.maxOversubscription);
        if (excess.length) {
          throw new AppError(
            'oversubscription-cap',
            `pool ${pool.name} allows allocations up to ${pool.maxOversubscription} × its limit: ${excess.map((e) => `${e.kind} would be ${e.allocated} allocated > ${e.most}`).join('; ')}`,
            { requested, excess, maxOversubscription: pool.maxOversubscription },
          );
        }
      }
      // A reserved gateway holds its allocation at once, online or not: that part is a reservation
      // and must fit the free points like before floating (F2).
      if (reserved && (raising || !g.reserved)) {
        if (pool.licenseExpiresAt === null) throw new AppError('insufficient-points', `pool ${pool.name} has no license; upload one first`, { requested, free: { tags: 0, connections: 0 } });
        if (pool.licenseExpiresAt.getTime() <= Date.now()) throw new AppError('license-expired', `pool ${pool.name}'s license expired at ${pool.licenseExpiresAt.toISOString()}; no new points are granted`);
        if (pool.overCommitted) throw new AppError('pool-over-committed', `pool ${pool.name} is over-committed; no new points are granted until it fits its license again`);
        const short = raiseShortfalls({ poolHeld: totals.held, gatewayHeld: info.held, gatewayLeaseMax: info.held, requested, limit });
        if (short.length) {
          // Per kind, the most this gateway could have now (free points plus what it holds), for every kind.
          const free = Object.fromEntries(POINT_KINDS.map((k) => [k, Math.max(0, limit[k] - totals.held[k]) + info.held[k]]));
          throw new AppError(
            'insufficient-points',
            `pool ${pool.name} lacks the points to reserve: ${short.map((s) => `${s.kind} requested ${s.requested}, at most ${s.available} available (${s.free} free)`).join('; ')}`,
            { requested, free, shortfalls: short },
          );
        }
      }
      // What the push that follows is expected to grant: behind everyone already waiting.
      const othersPending = { tags: totals.pending.tags - (g.online ? Math.max(0, g.allocTags - info.held.tags) : 0), connections: totals.pending.connections - (g.online ? Math.max(0, g.allocConnections - info.held.connections) : 0) };
      const free = { tags: limit.tags - totals.held.tags - othersPending.tags, connections: limit.connections - totals.held.connections - othersPending.connections };
      outcome = g.online && !g.revokedAt
        ? (({ points, pending }) => ({ granted: points, pending }))(decideGrant(requested, reserved ? requested : info.held, free, pool.grantMode))
        : { granted: reserved ? requested : { tags: 0, connections: 0 }, pending: { tags: 0, connections: 0 } };
      const after = await gatewayStore.update(tx, id, {
        allocTags: requested.tags,
        allocConnections: requested.connections,
        allocPlugins: plugins,
        allocUpdatedAt: new Date(),
        reserved,
        priority: req.priority ?? g.priority,
      });
      await auditStore.append(tx, [
        {
          actor: actorLabel(actor),
          // A release is its own deliberate act, not a forced lowering; its row keeps what was in use.
          action: opts.release ? 'allocation.released' : below.length ? 'allocation.changed.forced' : 'allocation.changed',
          poolId: pool.id,
          gatewayId: id,
          subject: g.name,
          before: { tags: g.allocTags, connections: g.allocConnections, plugins: g.allocPlugins, reserved: g.reserved, priority: g.priority, ...(opts.release ? { inUse: usage } : {}) },
          after: { tags: after.allocTags, connections: after.allocConnections, plugins: after.allocPlugins, reserved: after.reserved, priority: after.priority },
        },
      ]);
    });
    this.notifier.gatewayChanged(id);
    return { ...(await this.get(id)), ...(outcome ? { allocationOutcome: outcome } : {}) };
  }

  /** Decommissions a gateway: its credential stops working and its allocation drops to 0. */
  async revoke(id: string, actor: Actor): Promise<GatewayView> {
    await this.db.transaction(async (tx) => {
      const g = await gatewayStore.lock(tx, id);
      if (!g) throw notFound('gateway', id);
      if (g.revokedAt) return;
      await gatewayStore.update(tx, id, { revokedAt: new Date(), allocTags: 0, allocConnections: 0, allocPlugins: [], credentialHash: 'revoked', online: false });
      await auditStore.append(tx, [
        { actor: actorLabel(actor), action: 'gateway.revoked', poolId: g.poolId, gatewayId: id, subject: g.name, before: { tags: g.allocTags, connections: g.allocConnections } },
      ]);
    });
    this.notifier.gatewayChanged(id);
    // Live sessions end now (transports listen), not when they next authenticate.
    this.events?.emit('gateway.credential-revoked', { gatewayId: id });
    await this.credentials.revoked(id).catch((err: unknown) => this.logger?.warn({ err, gatewayId: id }, 'could not delete the broker credential'));
    return this.get(id);
  }

  /**
   * Undoes a decommission so the same hardware may enroll again with its code. No credential
   * works until it does (the old one stays revoked), so a restore alone grants nothing.
   */
  async restore(id: string, actor: Actor): Promise<GatewayView> {
    await this.db.transaction(async (tx) => {
      const g = await gatewayStore.lock(tx, id);
      if (!g) throw notFound('gateway', id);
      if (!g.revokedAt) throw new AppError('conflict', `gateway ${id} is not decommissioned`);
      await gatewayStore.update(tx, id, { revokedAt: null, credentialHash: 'revoked', online: false });
      await auditStore.append(tx, [{ actor: actorLabel(actor), action: 'gateway.restored', poolId: g.poolId, gatewayId: id, subject: g.name }]);
    });
    this.notifier.gatewayChanged(id);
    return this.get(id);
  }

  /**
   * Lets the gateway's hardware enroll again even while it looks live (a replaced device, a lost
   * credential): the current credential stops working and its sessions end now.
   */
  async resetBinding(id: string, actor: Actor): Promise<GatewayView> {
    await this.db.transaction(async (tx) => {
      const g = await gatewayStore.lock(tx, id);
      if (!g) throw notFound('gateway', id);
      if (g.revokedAt) throw new AppError('conflict', `gateway ${id} is decommissioned; restore it instead`);
      await gatewayStore.update(tx, id, { credentialHash: BINDING_RESET, online: false });
      await auditStore.append(tx, [{ actor: actorLabel(actor), action: 'gateway.binding-reset', poolId: g.poolId, gatewayId: id, subject: g.name }]);
    });
    this.notifier.gatewayChanged(id);
    this.events?.emit('gateway.credential-revoked', { gatewayId: id });
    await this.credentials.revoked(id).catch((err: unknown) => this.logger?.warn({ err, gatewayId: id }, 'could not delete the broker credential'));
    return this.get(id);
  }

  async rename(id: string, name: string, actor: Actor): Promise<GatewayView> {
    await this.db.transaction(async (tx) => {
      const g = await gatewayStore.lock(tx, id);
      if (!g) throw notFound('gateway', id);
      await gatewayStore.update(tx, id, { name });
      await auditStore.append(tx, [{ actor: actorLabel(actor), action: 'gateway.renamed', poolId: g.poolId, gatewayId: id, subject: name, before: { name: g.name }, after: { name } }]);
    });
    return this.get(id);
  }

  /** Usage reported by the agent (read from the gateway itself). */
  async reportUsage(id: string, usage: { tags: number; connections: number }): Promise<void> {
    // The replay's usage history (issue 21): only changes are kept.
    await usageHistoryStore.recordIfChanged(this.db, id, usage, new Date());
    // A session opened before the decommission may still be up somewhere: its reports are refused.
    const updated = await gatewayStore.updateActive(this.db, id, {
      usageTags: usage.tags,
      usageConnections: usage.connections,
      usageReportedAt: new Date(),
      lastSeenAt: new Date(),
    });
    if (!updated) throw new AppError('unauthorized', `gateway ${id} is decommissioned`);
  }
}
