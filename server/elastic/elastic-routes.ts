import { elasticBoundsBody, elasticBoundsView, pendingView, poolPolicyBody, poolPolicyView } from '../../shared/protocol/elastic.js';
import { idParams } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { ElasticService } from './elastic-service.js';

export function registerElasticRoutes(routes: RouteRegistry, elastic: ElasticService): void {
  const tag = 'elastic';
  routes.add({
    method: 'get',
    path: '/api/v1/pools/:id/policy',
    summary: "A pool's elastic, pre-emption, pending-timeout and borrowing policy",
    tag,
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'The policy', schema: poolPolicyView } },
    handler: async ({ params }) => ({ body: await elastic.policy(params.id) }),
  });
  routes.add({
    method: 'put',
    path: '/api/v1/pools/:id/policy',
    summary:
      "Change a pool's policy. Elastic example: headroom 0.25, step 0.25, cooldownSec 300 and a gateway with tags {min 50, max 400} using 180 of 190 " +
      'grows to 225 (180 × 1.25) if 35 points are free, at most 100 (0.25 × 400) per resize; with usage down to 20 for 300 s it shrinks to 125, ' +
      'then to 50 (its min), never below usage, never two resizes within 300 s',
    tag,
    auth: { role: 'admin' },
    params: idParams,
    body: poolPolicyBody,
    responses: { 200: { description: 'The policy', schema: poolPolicyView } },
    handler: async ({ params, body, actor }) => ({ body: await elastic.setPolicy(params.id, body, actor) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/gateways/:id/elastic',
    summary: "A gateway's elastic range per kind (null: a fixed allocation)",
    tag,
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'The elastic bounds', schema: elasticBoundsView } },
    handler: async ({ params }) => ({ body: await elastic.bounds(params.id) }),
  });
  routes.add({
    method: 'put',
    path: '/api/v1/gateways/:id/elastic',
    summary: 'Make kinds elastic within {min, max} (null makes a kind fixed again); resizes are audit events by system:elastic',
    tag,
    auth: { role: 'operator' },
    params: idParams,
    body: elasticBoundsBody,
    responses: { 200: { description: 'The elastic bounds', schema: elasticBoundsView } },
    handler: async ({ params, body, actor }) => ({ body: await elastic.setBounds(params.id, body, actor) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/gateways/:id/pending',
    summary:
      'What a pending request waits for: gateways that owe the pool points (pre-empted or lowered) and when their leases expire at the latest. ' +
      'Pre-emption example: B (priority 5) raises to 100 with 0 free; A (priority 0, elastic min 10, 100 held, 20 in use) is lowered to 60 ' +
      '(its unused headroom); B waits for A until A acknowledges its 60-point lease, releases, or its lease expires',
    tag,
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'The pending request', schema: pendingView } },
    handler: async ({ params }) => ({ body: await elastic.pending(params.id) }),
  });
  routes.add({
    method: 'delete',
    path: '/api/v1/gateways/:id/pending',
    summary: 'Cancel a pending request: the allocation drops to what the gateway holds (409 when nothing is pending)',
    tag,
    auth: { role: 'operator' },
    params: idParams,
    responses: { 200: { description: 'The pending request after cancelling', schema: pendingView } },
    handler: async ({ params, actor }) => ({ body: await elastic.cancelPending(params.id, actor) }),
  });
}
