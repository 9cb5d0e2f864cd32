import { inArray, sql } from 'drizzle-orm';
import { auditStore, type AuditEntry } from '../audit/audit-store.js';
import { actorLabel, type Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import { gateways } from '../db/schema.js';
import { AppError } from '../errors/app-error.js';
import type { ChangeNotifier } from '../leases/change-notifier.js';
import { POINT_KINDS, oversubscriptionExcess, poolLimit, raiseShortfalls } from '../pools/capacity-policy.js';
import { poolStore, type PoolRow } from '../pools/pool-store.js';
import { gatewayStore, type GatewayRow } from './gateway-store.js';

interface BulkItem {
  readonly gatewayId: string;
  readonly tags?: number | undefined;
  readonly connections?: number | undefined;
  readonly plugins?: string[] | undefined;
}

export interface BulkRequest {
  /** set: the given figures replace the allocation; add: they are added to it. Kinds left out keep their value. */
  readonly mode: 'set' | 'add';
  readonly force?: boolean | undefined;
  readonly items: readonly BulkItem[];
}

type Totals = { tags: number; connections: number };

/**
 * Changes many gateways' allocations in one transaction: all or nothing. All-or-nothing rather than
 * best-effort because an administrator's plan ("these 1,000 get 50 tags") either fits the pool or
 * must be rethought; half of it applied is a state nobody asked for. The first refusal names the
 * gateway and the shortfall. The same rules as a single change (capacity-policy, license state,
 * below-usage) apply, with the pool's held total carried from one gateway to the next: lowerings
 * are applied first, so points they free count for the raises.
 */
export class BulkAllocationService {
  constructor(
    private readonly db: Db,
    private readonly notifier: ChangeNotifier,
  ) {}

  /** Takes all points back from many gateways at once, each audited as allocation.released (as a single release). */
  release(gatewayIds: readonly string[], actor: Actor): Promise<{ changed: number }> {
    const items = gatewayIds.map((gatewayId) => ({ gatewayId, tags: 0, connections: 0, plugins: [] }));
    return this.apply({ mode: 'set', force: true, items }, actor, { release: true });
  }

  async apply(req: BulkRequest, actor: Actor, opts: { release?: boolean } = {}): Promise<{ changed: number }> {
    const ids = req.items.map((i) => i.gatewayId.toLowerCase());
    const dup = ids.find((id, n) => ids.indexOf(id) !== n);
    if (dup) throw new AppError('validation-failed', `body.items: gateway ${dup} appears more than once`, { errors: [{ path: 'body.items', message: `gateway ${dup} repeats` }] });
    const changed = await this.db.transaction(async (tx) => {
      const peek = await tx.select({ id: gateways.id, poolId: gateways.poolId }).from(gateways).where(inArray(gateways.id, ids));
      const missing = ids.find((id) => !peek.some((p) => p.id === id));
      if (missing) throw new AppError('not-found', `gateway ${missing} does not exist`, { id: missing });
      // Pools first, then gateways, each in id order: the same order as single changes, so no deadlock.
      const poolIds = [...new Set(peek.map((p) => p.poolId))].sort();
      const pools = new Map<string, PoolRow>();
      for (const id of poolIds) {
        const p = await poolStore.lock(tx, id);
        if (p) pools.set(id, p);
      }
      const rows = await tx.select().from(gateways).where(inArray(gateways.id, ids)).orderBy(gateways.id).for('update');
      const byId = new Map<string, GatewayRow>(rows.map((r) => [r.id, r]));
      const info = await gatewayStore.leaseInfoMany(tx, ids);
      const held = new Map<string, Totals>();
      const allocated = new Map<string, Totals>();
      for (const id of poolIds) {
        const totals = await poolStore.totals(tx, id);
        held.set(id, { ...totals.held });
        allocated.set(id, { ...totals.allocated });
      }

      const plan = req.items.map((item) => {
        const g = byId.get(item.gatewayId.toLowerCase())!;
        const next = (k: 'tags' | 'connections', current: number) => (item[k] === undefined ? current : req.mode === 'add' ? current + item[k] : item[k]);
        const requested = { tags: next('tags', g.allocTags), connections: next('connections', g.allocConnections) };
        return { g, requested, plugins: item.plugins ?? g.allocPlugins };
      });
      const lowersFirst = [...plan].sort((a, b) => Number(raises(a.g, a.requested)) - Number(raises(b.g, b.requested)));
      const now = Date.now();
      const audit: AuditEntry[] = [];
      for (const { g, requested, plugins } of lowersFirst) {
        const pool = pools.get(g.poolId)!;
        const who = `${g.name} (${g.id})`;
        if (g.revokedAt) throw new AppError('conflict', `gateway ${who} is decommissioned`, { gatewayId: g.id });
        const unknown = plugins.filter((p) => !pool.plugins.includes(p));
        if (unknown.length) throw new AppError('validation-failed', `${who}: plugins not enabled by the pool's license: ${unknown.join(', ')}`, { gatewayId: g.id, poolPlugins: pool.plugins });
        const usage = { tags: g.usageTags ?? 0, connections: g.usageConnections ?? 0 };
        const current = { tags: g.allocTags, connections: g.allocConnections };
        const below = POINT_KINDS.filter((k) => requested[k] < usage[k] && requested[k] < current[k]);
        if (below.length && !req.force) {
          throw new AppError('below-usage', `${who} uses more than requested: ${below.map((k) => `${k} ${usage[k]} in use > ${requested[k]}`).join(', ')}; use force to lower it anyway`, {
            gatewayId: g.id,
            requested,
            inUse: usage,
          });
        }
        // F2: an allocation is an entitlement. A raise is refused only by the pool's oversubscription
        // cap; a reserved gateway must also fit the free points, since it holds its allocation at once.
        const limit = poolLimit({ tags: pool.capacityTags, connections: pool.capacityConnections }, pool.overdraftFactor);
        const poolAllocated = allocated.get(pool.id)!;
        const allocatedAfter = { tags: poolAllocated.tags - g.allocTags + requested.tags, connections: poolAllocated.connections - g.allocConnections + requested.connections };
        const gatewayHeld = info.get(g.id)?.held ?? { tags: 0, connections: 0 };
        const poolHeld = held.get(pool.id)!;
        if (raises(g, requested)) {
          const excess = oversubscriptionExcess(allocatedAfter, limit, pool.maxOversubscription);
          if (excess.length) {
            throw new AppError(
              'oversubscription-cap',
              `${who}: pool ${pool.name} allows allocations up to ${pool.maxOversubscription} × its limit: ${excess.map((e) => `${e.kind} would be ${e.allocated} allocated > ${e.most}`).join('; ')}; nothing was changed`,
              { gatewayId: g.id, gatewayName: g.name, requested, excess },
            );
          }
          if (g.reserved) {
            if (pool.licenseExpiresAt === null) throw new AppError('insufficient-points', `${who}: pool ${pool.name} has no license; upload one first`, { gatewayId: g.id });
            if (pool.licenseExpiresAt.getTime() <= now) throw new AppError('license-expired', `${who}: pool ${pool.name}'s license expired; no new points are granted`, { gatewayId: g.id });
            if (pool.overCommitted) throw new AppError('pool-over-committed', `${who}: pool ${pool.name} is over-committed; no new points are granted`, { gatewayId: g.id });
            const short = raiseShortfalls({ poolHeld, gatewayHeld, gatewayLeaseMax: gatewayHeld, requested, limit });
            if (short.length) {
              throw new AppError(
                'insufficient-points',
                `${who}: pool ${pool.name} lacks the points to reserve: ${short.map((s) => `${s.kind} requested ${s.requested}, at most ${s.available} available (${s.free} free, short by ${s.requested - s.available})`).join('; ')}; nothing was changed`,
                { gatewayId: g.id, gatewayName: g.name, requested, shortfalls: short },
              );
            }
            for (const k of POINT_KINDS) poolHeld[k] += Math.max(0, requested[k] - gatewayHeld[k]);
          }
        }
        allocated.set(pool.id, allocatedAfter);
        audit.push({
          actor: actorLabel(actor),
          // A release is its own deliberate act, not a forced lowering; its row keeps what was in use.
          action: opts.release ? 'allocation.released' : below.length ? 'allocation.changed.forced' : 'allocation.changed',
          poolId: pool.id,
          gatewayId: g.id,
          subject: g.name,
          before: { tags: g.allocTags, connections: g.allocConnections, plugins: g.allocPlugins, ...(opts.release ? { inUse: usage } : {}) },
          after: { tags: requested.tags, connections: requested.connections, plugins, bulk: true },
        });
      }
      // One statement for all rows: 1,000 gateways cost one round trip, not 1,000.
      const values = JSON.stringify(plan.map((p) => ({ id: p.g.id, t: p.requested.tags, c: p.requested.connections, p: p.plugins })));
      await tx.execute(sql`
        update gateways g
        set alloc_tags = v.t, alloc_connections = v.c,
            alloc_plugins = array(select jsonb_array_elements_text(v.p)),
            alloc_updated_at = now()
        from jsonb_to_recordset(${values}::jsonb) as v(id uuid, t int, c int, p jsonb)
        where g.id = v.id`);
      await auditStore.append(tx, audit);
      return plan.map((p) => p.g.id);
    });
    for (const id of changed) this.notifier.gatewayChanged(id);
    return { changed: changed.length };
  }
}

const raises = (g: GatewayRow, requested: Totals) => requested.tags > g.allocTags || requested.connections > g.allocConnections;
