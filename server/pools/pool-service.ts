import type { PoolLicenseView, PoolSettings, PoolView } from '../../shared/protocol/rest.js';
import { auditStore } from '../audit/audit-store.js';
import { actorLabel, type Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import { AppError, notFound } from '../errors/app-error.js';
import type { ChangeNotifier } from '../leases/change-notifier.js';
import { licenseShortfalls, oversubscriptionExcess, poolLimit, utilization } from './capacity-policy.js';
import type { PoolLicenseVerifier } from './pool-license-verifier.js';
import { emptyTotals, poolStore, type PoolLicenseRow, type PoolRow, type PoolTotals } from './pool-store.js';

function licenseView(l: PoolLicenseRow, now = Date.now()): PoolLicenseView {
  return {
    id: l.id,
    licenseRef: l.licenseRef,
    issuer: l.issuer,
    customer: l.customer,
    issuedAt: l.issuedAt.toISOString(),
    expiresAt: l.expiresAt.toISOString(),
    expired: l.expiresAt.getTime() <= now,
    points: { tags: l.tags, connections: l.connections },
    plugins: l.plugins,
    forced: l.forced,
    uploadedBy: l.uploadedBy,
    uploadedAt: l.uploadedAt.toISOString(),
    replacedAt: l.replacedAt?.toISOString() ?? null,
  };
}

function poolView(p: PoolRow, t: PoolTotals, license: PoolLicenseRow | undefined, now = Date.now()): PoolView {
  const capacity = { tags: p.capacityTags, connections: p.capacityConnections };
  const limit = poolLimit(capacity, p.overdraftFactor);
  return {
    id: p.id,
    ...settingsSnapshot(p),
    capacity,
    limit,
    plugins: p.plugins,
    license: license ? licenseView(license, now) : null,
    licenseExpired: p.licenseExpiresAt !== null && p.licenseExpiresAt.getTime() <= now,
    overCommitted: p.overCommitted,
    allocated: t.allocated,
    held: t.held,
    pending: t.pending,
    inUse: t.inUse,
    free: { tags: Math.max(0, limit.tags - t.held.tags), connections: Math.max(0, limit.connections - t.held.connections) },
    utilization: utilization(t.held, limit),
    gateways: { total: t.gateways, online: t.online },
    createdAt: p.createdAt.toISOString(),
  };
}

function settingsSnapshot(p: PoolRow) {
  return {
    name: p.name,
    description: p.description,
    leaseTtlSeconds: p.leaseTtlSeconds,
    reclaim: p.reclaim,
    disconnectGraceSeconds: p.disconnectGraceSeconds,
    overdraftFactor: p.overdraftFactor,
    alarmRaiseRatio: p.alarmRaiseRatio,
    alarmClearRatio: p.alarmClearRatio,
    maxOversubscription: p.maxOversubscription,
    grantMode: p.grantMode,
  };
}

export class PoolService {
  constructor(
    private readonly db: Db,
    private readonly licenses: PoolLicenseVerifier,
    private readonly notifier: ChangeNotifier,
  ) {}

  async create(input: PoolSettings & { name: string }, actor: Actor): Promise<PoolView> {
    checkAlarmRatios(input.alarmRaiseRatio ?? 0.8, input.alarmClearRatio ?? 0.75);
    const row = await this.db.transaction(async (tx) => {
      const created = await poolStore.insert(tx, input).catch((err: unknown) => {
        throw uniqueName(err, input.name);
      });
      await auditStore.append(tx, [
        { actor: actorLabel(actor), action: 'pool.created', poolId: created.id, subject: created.name, after: settingsSnapshot(created) },
      ]);
      return created;
    });
    return poolView(row, emptyTotals(), undefined);
  }

  async update(id: string, patch: PoolSettings, actor: Actor): Promise<PoolView> {
    const row = await this.db.transaction(async (tx) => {
      const before = await poolStore.lock(tx, id);
      if (!before) throw notFound('pool', id);
      checkAlarmRatios(patch.alarmRaiseRatio ?? before.alarmRaiseRatio, patch.alarmClearRatio ?? before.alarmClearRatio);
      if (patch.overdraftFactor !== undefined && patch.overdraftFactor < before.overdraftFactor) {
        // Lowering the overdraft lowers the limit: same rule as a smaller license.
        const held = (await poolStore.totals(tx, id)).held;
        const short = licenseShortfalls(held, poolLimit({ tags: before.capacityTags, connections: before.capacityConnections }, patch.overdraftFactor));
        if (short.length) throw new AppError('license-shortfall', shortfallMessage(short), { shortfalls: short });
      }
      if (patch.maxOversubscription !== undefined && patch.maxOversubscription !== null) {
        // A cap below what is already allocated would leave the pool breaking its own setting.
        const allocated = (await poolStore.totals(tx, id)).allocated;
        const limit = poolLimit({ tags: before.capacityTags, connections: before.capacityConnections }, patch.overdraftFactor ?? before.overdraftFactor);
        const excess = oversubscriptionExcess(allocated, limit, patch.maxOversubscription);
        if (excess.length) {
          throw new AppError('oversubscription-cap', `the pool's allocations already exceed ${patch.maxOversubscription} × its limit: ${excess.map((e) => `${e.kind} ${e.allocated} allocated > ${e.most}`).join(', ')}`, { excess });
        }
      }
      const after = await poolStore.update(tx, id, patch).catch((err: unknown) => {
        throw uniqueName(err, patch.name ?? '');
      });
      await auditStore.append(tx, [
        { actor: actorLabel(actor), action: 'pool.updated', poolId: id, subject: after.name, before: settingsSnapshot(before), after: settingsSnapshot(after) },
      ]);
      return after;
    });
    // Leases carry the TTL, the grant mode's outcome and the disconnect rule: push fresh ones at once.
    if (patch.leaseTtlSeconds !== undefined || patch.grantMode !== undefined || patch.reclaim !== undefined || patch.disconnectGraceSeconds !== undefined) this.notifier.poolChanged(id);
    return this.get(row.id);
  }

  async get(id: string): Promise<PoolView> {
    const [row, totals, license] = await Promise.all([poolStore.get(this.db, id), poolStore.totals(this.db, id), poolStore.currentLicense(this.db, id)]);
    if (!row) throw notFound('pool', id);
    return poolView(row, totals, license);
  }

  async list(): Promise<PoolView[]> {
    const [rows, totals] = await Promise.all([poolStore.list(this.db), poolStore.totalsByPool(this.db)]);
    const licenses = await Promise.all(rows.map((r) => poolStore.currentLicense(this.db, r.id)));
    return rows.map((r, i) => poolView(r, totals.get(r.id) ?? emptyTotals(), licenses[i]));
  }

  async licenseHistory(id: string): Promise<PoolLicenseView[]> {
    if (!(await poolStore.get(this.db, id))) throw notFound('pool', id);
    return (await poolStore.licenseHistory(this.db, id)).map((l) => licenseView(l));
  }

  /**
   * Replaces the pool's license. A license whose limit would fall below what the pool holds is
   * refused with the shortfall per kind, unless forced; forced, the pool is over-committed and
   * grants nothing new until it fits again.
   */
  async uploadLicense(id: string, document: string, force: boolean, actor: Actor): Promise<PoolView> {
    const verified = await this.licenses.verify(document);
    if (verified.expiresAt.getTime() <= Date.now()) {
      throw new AppError('license-expired', `license ${verified.licenseRef} expired at ${verified.expiresAt.toISOString()}`);
    }
    await this.db.transaction(async (tx) => {
      const pool = await poolStore.lock(tx, id);
      if (!pool) throw notFound('pool', id);
      const held = (await poolStore.totals(tx, id)).held;
      const short = licenseShortfalls(held, poolLimit(verified.points, pool.overdraftFactor));
      if (short.length && !force) {
        throw new AppError('license-shortfall', `${shortfallMessage(short)}; upload with force to accept it anyway`, { shortfalls: short });
      }
      const before = await poolStore.currentLicense(tx, id);
      const license = await poolStore.replaceLicense(tx, {
        poolId: id,
        licenseRef: verified.licenseRef,
        issuer: verified.issuer,
        kid: verified.kid,
        customer: verified.customer,
        issuedAt: verified.issuedAt,
        expiresAt: verified.expiresAt,
        tags: verified.points.tags,
        connections: verified.points.connections,
        plugins: [...verified.plugins],
        document,
        forced: short.length > 0,
        uploadedBy: actorLabel(actor),
      });
      await poolStore.update(tx, id, {
        capacityTags: verified.points.tags,
        capacityConnections: verified.points.connections,
        plugins: [...verified.plugins],
        licenseId: license.id,
        licenseExpiresAt: verified.expiresAt,
        overCommitted: short.length > 0,
      });
      await auditStore.append(tx, [
        {
          actor: actorLabel(actor),
          action: short.length ? 'pool.license.uploaded.forced' : 'pool.license.uploaded',
          poolId: id,
          subject: verified.licenseRef,
          before: before ? { licenseRef: before.licenseRef, tags: before.tags, connections: before.connections, plugins: before.plugins, expiresAt: before.expiresAt } : null,
          after: { licenseRef: verified.licenseRef, tags: verified.points.tags, connections: verified.points.connections, plugins: verified.plugins, expiresAt: verified.expiresAt, shortfalls: short },
        },
      ]);
    });
    this.notifier.poolChanged(id);
    return this.get(id);
  }
}

/** Clears the over-committed mark of every pool that fits its license again. */
export async function reviewOverCommitment(db: Db): Promise<string[]> {
  const candidates = (await poolStore.list(db)).filter((p) => p.overCommitted);
  const cleared: string[] = [];
  for (const c of candidates) {
    await db.transaction(async (tx) => {
      const pool = await poolStore.lock(tx, c.id);
      if (!pool?.overCommitted) return;
      const held = (await poolStore.totals(tx, pool.id)).held;
      if (licenseShortfalls(held, poolLimit({ tags: pool.capacityTags, connections: pool.capacityConnections }, pool.overdraftFactor)).length) return;
      await poolStore.update(tx, pool.id, { overCommitted: false });
      await auditStore.append(tx, [{ actor: 'system:sweeper', action: 'pool.fits-license', poolId: pool.id, subject: pool.name, after: { held } }]);
      cleared.push(pool.id);
    });
  }
  return cleared;
}

function shortfallMessage(short: ReturnType<typeof licenseShortfalls>): string {
  return `the new limit is below what the pool holds: ${short.map((s) => `${s.kind} ${s.held} held > ${s.limit} (short by ${s.shortfall})`).join(', ')}`;
}

function checkAlarmRatios(raise: number, clear: number): void {
  if (clear > raise) {
    throw new AppError('validation-failed', 'body.alarmClearRatio: must not exceed alarmRaiseRatio', {
      errors: [{ path: 'body.alarmClearRatio', message: 'must not exceed alarmRaiseRatio' }],
    });
  }
}

function uniqueName(err: unknown, name: string): unknown {
  const code = (err as { cause?: { code?: string }; code?: string }).cause?.code ?? (err as { code?: string }).code;
  return code === '23505' ? new AppError('conflict', `a pool named ${JSON.stringify(name)} already exists`) : err;
}
