import { Router } from 'express';
import { createActorResolver } from './auth/actor-resolver.js';
import { registerTokenRoutes } from './auth/token-routes.js';
import { registerAuditRoutes } from './audit/audit-routes.js';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { registerEnrollmentRoutes } from './enrollment/enrollment-routes.js';
import { registerGatewayRoutes } from './gateways/gateway-routes.js';
import { failureLimiter } from './http/rate-limits.js';
import { RouteRegistry } from './http/route-registry.js';
import { registerAgentRoutes } from './leases/agent-routes.js';
import { registerSigningKeyRoutes } from './leases/signing-key-routes.js';
import { buildOpenApiDocument } from './openapi/openapi-document.js';
import { registerPoolRoutes } from './pools/pool-routes.js';
import type { Services } from './services.js';

export const API_VERSION = '1.0.0';

/** Every REST route, declared once; the OpenAPI document is generated from the same declarations. */
export function buildApiRouter(config: Pick<Config, 'rateLimits' | 'oidc'>, db: Db, s: Services): { router: Router; registry: RouteRegistry } {
  const routes = new RouteRegistry();
  registerPoolRoutes(routes, s.pools, s.enrollment);
  registerEnrollmentRoutes(
    routes,
    s.enrollment,
    failureLimiter({ perMinute: config.rateLimits.enrollFailuresPerMinute, failedStatuses: [400, 404, 409, 410], what: 'enrollments' }),
  );
  registerGatewayRoutes(routes, s.gateways);
  registerAgentRoutes(routes, s.leases, s.gateways, () => s.publishedKeys.jwks(), () => s.keySet.document());
  registerAuditRoutes(routes, db);
  registerTokenRoutes(routes, s.tokens);
  registerSigningKeyRoutes(routes, db, s.keys, s.publishedKeys);
  let openApi: Record<string, unknown> | undefined;
  routes.add({
    method: 'get',
    path: '/api/v1/openapi.json',
    summary: 'This OpenAPI 3.1 document',
    tag: 'meta',
    auth: 'public',
    responses: { 200: { description: 'OpenAPI document' } },
    handler: async () => ({ body: (openApi ??= buildOpenApiDocument(routes.all(), { version: API_VERSION })) }),
  });
  const router = Router();
  // Failed authentications count per address; valid callers are never slowed down.
  router.use(failureLimiter({ perMinute: config.rateLimits.authFailuresPerMinute, failedStatuses: [401], what: 'authentications' }));
  router.use(routes.router(createActorResolver(s.gatewayAuth, s.tokens, config.oidc)));
  return { router, registry: routes };
}
