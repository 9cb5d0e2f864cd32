import { z } from 'zod';
import type { RouteRegistry } from '../http/route-registry.js';
import type { AttentionService } from './attention-service.js';

const attentionView = z.object({
  items: z.array(
    z.object({
      kind: z.string(),
      severity: z.enum(['bad', 'warn']),
      poolId: z.uuid(),
      poolName: z.string(),
      message: z.string(),
      gateways: z.object({ count: z.int(), sample: z.array(z.object({ id: z.uuid(), name: z.string() })) }).optional(),
    }),
  ),
});

export function registerAttentionRoutes(routes: RouteRegistry, attention: AttentionService): void {
  routes.add({
    method: 'get',
    path: '/api/v1/attention',
    summary: 'What needs a person: expired or expiring licenses, over-committed pools, pools above their alarm, gateways over their allocation',
    tag: 'pools',
    auth: { role: 'viewer' },
    responses: { 200: { description: 'The attention list, most serious first', schema: attentionView } },
    handler: async () => ({ body: { items: await attention.items() } }),
  });
}
