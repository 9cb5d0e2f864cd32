import type { z } from 'zod';
import { bulkAllocationBody, bulkAllocationResult, bulkReleaseBody, gatewayFilterQuery, gatewayIdsPage, GATEWAY_IDS_MAX } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import { streamCsv } from '../http/csv.js';
import type { PoolService } from '../pools/pool-service.js';
import type { BulkAllocationService } from './bulk-allocation-service.js';
import type { GatewayService } from './gateway-service.js';
import { gatewayViewFor } from './gateway-view.js';

const GATEWAY_CSV_HEADER = [
  'id', 'name', 'pool_id', 'pool', 'online', 'transport', 'last_seen_at', 'enrolled_at', 'decommissioned_at',
  'alloc_tags', 'alloc_connections', 'alloc_plugins', 'reserved', 'priority', 'held_tags', 'held_connections',
  'pending_tags', 'pending_connections', 'usage_tags', 'usage_connections', 'usage_reported_at',
  'lease_seq', 'lease_state', 'lease_expires_at', 'hardware_id',
] as const;

/**
 * Work on many gateways at once: the selection behind "select all matching the filter", the CSV
 * export of the filtered list, bulk allocation and bulk release. Registered before the single
 * gateway routes, whose `/gateways/:id` would otherwise take `/gateways/ids`.
 */
export function registerBulkAllocationRoutes(routes: RouteRegistry, bulk: BulkAllocationService, gateways: GatewayService, pools: PoolService): void {
  const tag = 'gateways';
  const filterOf = (q: z.output<typeof gatewayFilterQuery>) => ({ ...q, online: q.online === undefined ? undefined : q.online === 'true' });
  routes.add({
    method: 'post',
    path: '/api/v1/gateways/allocations',
    summary: "Set or add to many gateways' points in one transaction: all or nothing; the first refusal names the gateway and the shortfall",
    tag,
    auth: { role: 'operator' },
    body: bulkAllocationBody,
    responses: { 200: { description: 'How many gateways changed', schema: bulkAllocationResult } },
    handler: async ({ body, actor }) => ({ body: await bulk.apply(body, actor) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/gateways/release',
    summary: 'Release all points of many gateways in one transaction (each audited as allocation.released)',
    tag,
    auth: { role: 'operator' },
    body: bulkReleaseBody,
    responses: { 200: { description: 'How many gateways changed', schema: bulkAllocationResult } },
    handler: async ({ body, actor }) => ({ body: await bulk.release(body.gatewayIds, actor) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/gateways/ids',
    summary: `The ids of every gateway the filter matches (list order, at most ${GATEWAY_IDS_MAX}): "select all matching the filter"`,
    tag,
    auth: { role: 'viewer' },
    query: gatewayFilterQuery,
    responses: { 200: { description: 'The matching ids and their count', schema: gatewayIdsPage } },
    handler: async ({ query }) => ({ body: await gateways.ids(filterOf(query), GATEWAY_IDS_MAX) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/gateways/export.csv',
    summary: 'Every gateway the filter matches as CSV (RFC 4180, UTF-8), streamed',
    tag,
    auth: { role: 'viewer' },
    query: gatewayFilterQuery,
    responses: { 200: { description: 'text/csv, one row per gateway' } },
    handler: async ({ query, actor, res }) => {
      const poolNames = new Map((await pools.list()).map((p) => [p.id, p.name]));
      async function* rows() {
        for await (const page of gateways.pages(filterOf(query))) {
          yield page.map((raw) => {
            const g = gatewayViewFor(actor, raw);
            return [
              g.id, g.name, g.poolId, poolNames.get(g.poolId) ?? '', g.online, g.transport, g.lastSeenAt, g.enrolledAt, g.decommissionedAt,
              g.allocation.tags, g.allocation.connections, g.allocation.plugins.join(' '), g.reserved, g.priority, g.held.tags, g.held.connections,
              g.pending.tags, g.pending.connections, g.usage?.tags, g.usage?.connections, g.usage?.reportedAt,
              g.lease?.seq, g.lease?.state, g.lease?.expiresAt, g.hardwareId,
            ];
          });
        }
      }
      await streamCsv(res, `gateways-${new Date().toISOString().slice(0, 10)}.csv`, GATEWAY_CSV_HEADER, rows());
    },
  });
}
