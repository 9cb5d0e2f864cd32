import type { z } from 'zod';
import { auditExportQuery, auditPage, auditQuery, type AuditEventView } from '../../shared/protocol/rest.js';
import { streamCsv } from '../http/csv.js';
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
      const { rows, nextBefore } = await audit.page({ ...auditFilter(query), before: query.before, limit: query.limit ?? 100 });
      return { body: { items: rows.map((r) => redactAudit(actor, toAuditView(r))), nextBefore } };
    },
  });
  routes.add({
    method: 'get',
    path: '/api/v1/audit/export.csv',
    summary: 'Every audit event the filters match as CSV (RFC 4180, UTF-8, newest first), streamed',
    tag: 'audit',
    auth: { role: 'viewer' },
    query: auditExportQuery,
    responses: { 200: { description: 'text/csv, one row per event; before and after as JSON' } },
    handler: async ({ query, actor, res }) => {
      const filter = auditFilter(query);
      // Cursor pages on the id, newest first, as the paged API reads them: no offset scans.
      async function* pages() {
        const limit = 1000;
        for (let before: number | undefined; ; ) {
          const { rows, nextBefore } = await audit.page({ ...filter, before, limit });
          if (rows.length) yield rows.map((r) => {
            const e = redactAudit(actor, toAuditView(r));
            return [e.id, e.at, e.actor, e.action, e.poolId, e.gatewayId, e.subject, json(e.before), json(e.after)];
          });
          if (nextBefore === null) return;
          before = nextBefore;
        }
      }
      await streamCsv(res, `audit-${new Date().toISOString().slice(0, 10)}.csv`, ['id', 'at', 'actor', 'action', 'pool_id', 'gateway_id', 'subject', 'before', 'after'], pages());
    },
  });
}

/** The query's filters as the service takes them (the export's query is the page's without paging). */
function auditFilter(query: z.output<typeof auditExportQuery>) {
  return { ...query, hideRenewals: query.hideRenewals === 'true', from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined };
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

const json = (v: unknown): string => (v === null || v === undefined ? '' : JSON.stringify(v));
