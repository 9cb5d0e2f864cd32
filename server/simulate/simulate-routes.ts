import { idParams } from '../../shared/protocol/rest.js';
import { simulateBody, simulateView } from '../../shared/protocol/simulate.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { SimulateService } from './simulate-service.js';

export function registerSimulateRoutes(routes: RouteRegistry, sim: SimulateService): void {
  routes.add({
    method: 'post',
    path: '/api/v1/pools/:id/simulate',
    summary:
      "What-if replay: the pool's recorded history (audit trail and usage history) under other settings, side by side with those in force. " +
      'Example: 100 tags, TTL 600 s; A and B ask 60 each, A leaves at 10 min and is back at 30 min, C (priority 5, 30) arrives at 15 min. In force: ' +
      '10 stranded tag-hours, 1 reclaim (false: A came back within the hour), 3 queued requests. With ttlSec 1800: 20 stranded tag-hours, no reclaim, 2 queued. ' +
      'Changes nothing',
    tag: 'simulate',
    // A POST, so it needs more than viewer like every other POST (the auth matrix), though it changes nothing.
    auth: { role: 'operator' },
    params: idParams,
    body: simulateBody,
    responses: { 200: { description: 'Both reports', schema: simulateView } },
    handler: async ({ params, body }) => ({ body: await sim.simulate(params.id, body) }),
  });
}
