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
    summary: "Change a pool's elastic, pre-emption, pending-timeout and borrowing policy",
    description:
      'Elastic allocations: kinds made elastic with `PUT /api/v1/gateways/{id}/elastic` follow reported usage within `[min, max]`. ' +
      'The target is `ceil(usage × (1 + headroom))`, never below usage or min, never above max. The allocation grows when less than half ' +
      'of that headroom is left and the pool has free points, and shrinks once it has stayed above `usage × (1 + 2 × headroom)` for ' +
      '`cooldownSec`; each resize moves at most `step × max`, and no two resizes of one gateway come within `cooldownSec`.\n\n' +
      'Worked example: headroom 0.25, step 0.25, cooldownSec 300, tags `{min 50, max 400}`. A gateway allocated 190 and using 180 ' +
      'grows to 225 (180 × 1.25) if 35 points are free (at most 100 = 0.25 × 400 per resize). If its usage falls to 20 and stays there ' +
      '300 s it shrinks to 125 (one step of 100), then, 300 s later, to 50 (its min). It never goes below what it uses.',
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
    summary: 'What a pending request waits for: which gateways owe the pool points, and until when at the latest',
    description:
      "Pre-emption by priority: when a waiting gateway's points cannot be served from free points (or from points already owed back), " +
      'the controller lowers elastic gateways of strictly lower priority, lowest first: their unused headroom (down to usage, never below ' +
      'min), and only with the policy `preemptToMin` down to min (their agents then apply their over-limit policy). Equal priorities never ' +
      'pre-empt; fixed and reserved gateways are never victims. The request stays pending until each gateway in `waitsFor` acknowledges ' +
      'its smaller lease, releases, or reaches `until`: the expiry of its last lease above its allocation.\n\n' +
      'Worked example: a 200-tag pool, 0 free. A (priority 0, elastic tags `{min 10, max 200}`) holds 150 and uses 20; B (priority 5) ' +
      'holds 50 and is raised to 100. A is lowered to 100 (50 of its 130 unused tags), and this answer for B shows `pending` 50 and ' +
      '`waitsFor` A owing 50 until the expiry of its 150-tag lease. B gets its 100 when A acknowledges the 100-tag lease, or at that ' +
      "expiry if A's agent is gone.",
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
