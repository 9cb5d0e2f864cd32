import { and, desc, eq, gte, inArray, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/database.js';
import { auditEvents, gateways } from '../db/schema.js';

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly poolId?: string | null;
  readonly gatewayId?: string | null;
  readonly subject?: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface AuditFilter {
  gatewayId?: string | undefined;
  /** A gateway's id or name. */
  gateway?: string | undefined;
  hideRenewals?: boolean | undefined;
  poolId?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  before?: number | undefined;
  limit: number;
}

export type AuditRow = typeof auditEvents.$inferSelect;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Append-only: rows are inserted in the same transaction as the change they describe. */
export const auditStore = {
  async append(q: DbOrTx, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await q.insert(auditEvents).values(
      entries.map((e) => ({
        actor: e.actor,
        action: e.action,
        poolId: e.poolId ?? null,
        gatewayId: e.gatewayId ?? null,
        subject: e.subject ?? '',
        before: e.before ?? null,
        after: e.after ?? null,
      })),
    );
  },

  /** Whether the gateway's trail has this action on this subject (uses audit_gateway_idx). */
  async exists(q: DbOrTx, f: { gatewayId: string; action: string; subject: string }): Promise<boolean> {
    const rows = await q
      .select({ id: auditEvents.id })
      .from(auditEvents)
      .where(and(eq(auditEvents.gatewayId, f.gatewayId), eq(auditEvents.action, f.action), eq(auditEvents.subject, f.subject)))
      .limit(1);
    return rows.length > 0;
  },

  async query(q: DbOrTx, f: AuditFilter): Promise<AuditRow[]> {
    const where: SQL[] = [];
    if (f.gatewayId) where.push(eq(auditEvents.gatewayId, f.gatewayId));
    if (f.gateway) {
      const byName = q.select({ id: gateways.id }).from(gateways).where(sql`lower(${gateways.name}) = lower(${f.gateway})`);
      where.push(UUID.test(f.gateway) ? or(eq(auditEvents.gatewayId, f.gateway), inArray(auditEvents.gatewayId, byName))! : inArray(auditEvents.gatewayId, byName));
    }
    if (f.hideRenewals) where.push(ne(auditEvents.action, 'lease.renewed'));
    if (f.poolId) where.push(eq(auditEvents.poolId, f.poolId));
    if (f.action) where.push(eq(auditEvents.action, f.action));
    if (f.actor) where.push(eq(auditEvents.actor, f.actor));
    if (f.from) where.push(gte(auditEvents.at, f.from));
    if (f.to) where.push(lte(auditEvents.at, f.to));
    if (f.before) where.push(lt(auditEvents.id, f.before));
    return q
      .select()
      .from(auditEvents)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(auditEvents.id))
      .limit(f.limit);
  },
};
