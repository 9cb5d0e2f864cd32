import { auditPage, auditQuery, type AuditEventView } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { AuditRow } from './audit-store.js';
import type { AuditService } from './audit-service.js';
import type { Actor } from '../auth/actor.js';
import { hardwareIdFor } from '../gateways/gateway-view.js';

function toAuditView(r: AuditRow): AuditEventView {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    poolId: r.poolId,
    gatewayId: r.gatewayId,
    subject: r.subject,
    before: r.before,
    after: r.after,
  };
}

export function registerAuditRoutes(routes: RouteRegistry, audit: AuditService): void {
  routes.add({
    method: 'get',
    path: '/api/v1/audit',
    summary: 'Query the audit trail (newest first, cursor paging with `before`)',
    tag: 'audit',
    auth: { role: 'viewer' },
    query: auditQuery,
    responses: { 200: { description: 'A page of audit events', schema: auditPage } },
    handler: async ({ query, actor }) => {
      const limit = query.limit ?? 100;
      const { rows, nextBefore } = await audit.page({
        ...query,
        hideRenewals: query.hideRenewals === 'true',
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        limit,
      });
      return { body: { items: rows.map((r) => redactAudit(actor, toAuditView(r))), nextBefore } };
    },
  });
}

/** Enrollment rows carry the hardware id; a viewer sees the same prefix as in the gateway list. */
function redactAudit(actor: Actor, e: AuditEventView): AuditEventView {
  const redact = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !('hardwareId' in v)) return v;
    const hw = (v as { hardwareId: unknown }).hardwareId;
    return typeof hw === 'string' ? { ...v, hardwareId: hardwareIdFor(actor, hw) } : v;
  };
  return { ...e, before: redact(e.before), after: redact(e.after) };
}
