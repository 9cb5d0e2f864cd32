import { bulkAllocationBody, bulkAllocationResult } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { BulkAllocationService } from './bulk-allocation-service.js';

export function registerBulkAllocationRoutes(routes: RouteRegistry, bulk: BulkAllocationService): void {
  routes.add({
    method: 'post',
    path: '/api/v1/gateways/allocations',
    summary: "Set or add to many gateways' points in one transaction: all or nothing; the first refusal names the gateway and the shortfall",
    tag: 'gateways',
    auth: { role: 'operator' },
    body: bulkAllocationBody,
    responses: { 200: { description: 'How many gateways changed', schema: bulkAllocationResult } },
    handler: async ({ body, actor }) => ({ body: await bulk.apply(body, actor) }),
  });
}
