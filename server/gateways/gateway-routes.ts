import { z } from 'zod';
import { allocationBody, gatewayListQuery, gatewayPage, gatewayView, idParams } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { GatewayService } from './gateway-service.js';
import { gatewayViewFor } from './gateway-view.js';

export function registerGatewayRoutes(routes: RouteRegistry, gateways: GatewayService): void {
  const tag = 'gateways';
  routes.add({
    method: 'get',
    path: '/api/v1/gateways',
    summary: 'List gateways (filter, search, sort, page)',
    tag,
    auth: { role: 'viewer' },
    query: gatewayListQuery,
    responses: { 200: { description: 'A page of gateways', schema: gatewayPage } },
    handler: async ({ query, actor }) => {
      const page = await gateways.list({
        ...query,
        online: query.online === undefined ? undefined : query.online === 'true',
        limit: query.limit ?? 100,
        offset: query.offset ?? 0,
      });
      return { body: { ...page, items: page.items.map((g) => gatewayViewFor(actor, g)) } };
    },
  });
  routes.add({
    method: 'get',
    path: '/api/v1/gateways/:id',
    summary: 'One gateway with allocation, usage and lease',
    tag,
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'The gateway', schema: gatewayView } },
    handler: async ({ params, actor }) => ({ body: gatewayViewFor(actor, await gateways.get(params.id)) }),
  });
  routes.add({
    method: 'patch',
    path: '/api/v1/gateways/:id',
    summary: 'Rename a gateway',
    tag,
    auth: { role: 'operator' },
    params: idParams,
    body: z.strictObject({ name: z.string().trim().min(1).max(100) }),
    responses: { 200: { description: 'The gateway', schema: gatewayView } },
    handler: async ({ params, body, actor }) => ({ body: await gateways.rename(params.id, body.name, actor) }),
  });
  routes.add({
    method: 'put',
    path: '/api/v1/gateways/:id/allocation',
    summary:
      "Set a gateway's allocation (an entitlement; points float: a raise beyond the free points is granted in part or waits as pending). 409: above the pool's oversubscription cap, a reserved gateway the pool lacks free points for, or below usage unless forced",
    tag,
    auth: { role: 'operator' },
    params: idParams,
    body: allocationBody,
    responses: { 200: { description: 'The gateway with its new allocation', schema: gatewayView } },
    handler: async ({ params, body, actor }) => ({ body: await gateways.setAllocation(params.id, body, actor) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/gateways/:id/release',
    summary: "Take all points back (allocation 0, audited as allocation.released); they return when the agent acknowledges or the lease expires",
    tag,
    auth: { role: 'operator' },
    params: idParams,
    responses: { 200: { description: 'The gateway', schema: gatewayView } },
    handler: async ({ params, actor }) => ({ body: await gateways.setAllocation(params.id, { tags: 0, connections: 0, plugins: [], force: true }, actor, { release: true }) }),
  });
  routes.add({
    method: 'delete',
    path: '/api/v1/gateways/:id',
    summary: 'Decommission a gateway: its credential stops working and its seat is freed',
    tag,
    auth: { role: 'admin' },
    params: idParams,
    responses: { 200: { description: 'The decommissioned gateway', schema: gatewayView } },
    handler: async ({ params, actor }) => ({ body: await gateways.revoke(params.id, actor) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/gateways/:id/restore',
    summary: 'Allow a decommissioned gateway to enroll again (it gets a credential only by enrolling)',
    tag,
    auth: { role: 'admin' },
    params: idParams,
    responses: { 200: { description: 'The restored gateway', schema: gatewayView } },
    handler: async ({ params, actor }) => ({ body: await gateways.restore(params.id, actor) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/gateways/:id/reset-binding',
    summary: "Let the gateway's hardware enroll again although it is live; its current credential stops working",
    tag,
    auth: { role: 'admin' },
    params: idParams,
    responses: { 200: { description: 'The gateway', schema: gatewayView } },
    handler: async ({ params, actor }) => ({ body: await gateways.resetBinding(params.id, actor) }),
  });
}
