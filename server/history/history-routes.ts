import { gatewayHistory, historyQuery, poolHistory } from '../../shared/protocol/history.js';
import { idParams } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { HistoryService } from './history-service.js';

export function registerHistoryRoutes(routes: RouteRegistry, history: HistoryService): void {
  routes.add({
    method: 'get',
    path: '/api/v1/pools/:id/history',
    summary: "A pool's held, allocated, in-use and pending points over the last 24 h (minute buckets) or 30 days (hour buckets), each bucket's peak",
    tag: 'pools',
    auth: { role: 'viewer' },
    params: idParams,
    query: historyQuery,
    responses: { 200: { description: 'The pool history', schema: poolHistory } },
    handler: async ({ params, query }) => ({ body: await history.poolHistory(params.id, query.range ?? '24h') }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/gateways/:id/history',
    summary: "A gateway's usage against its allocation (and held points, presence) over the last 24 h or 30 days, as a step series",
    tag: 'gateways',
    auth: { role: 'viewer' },
    params: idParams,
    query: historyQuery,
    responses: { 200: { description: 'The gateway history', schema: gatewayHistory } },
    handler: async ({ params, query }) => ({ body: await history.gatewayHistory(params.id, query.range ?? '24h') }),
  });
}
