import { Router } from 'express';
import { createActorResolver } from './auth/actor-resolver.js';
import { registerTokenRoutes } from './auth/token-routes.js';
import { registerAuditRoutes } from './audit/audit-routes.js';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { registerEnrollmentRoutes } from './enrollment/enrollment-routes.js';
import { registerBulkAllocationRoutes } from './gateways/bulk-allocation-routes.js';
import { registerGatewayRoutes } from './gateways/gateway-routes.js';
import { registerHistoryRoutes } from './history/history-routes.js';
import { registerElasticRoutes } from './elastic/elastic-routes.js';
import { registerSimulateRoutes } from './simulate/simulate-routes.js';
import { EmqxDecisions } from './emqx/emqx-decisions.js';
import { registerEmqxRoutes } from './emqx/emqx-routes.js';
import { PgRateLimitStore } from './http/pg-rate-limit-store.js';
import { authFailureLimiter, failureLimiter } from './http/rate-limits.js';
import { RouteRegistry } from './http/route-registry.js';
import { AgentHandler } from './leases/agent-handler.js';
import { registerAgentRoutes } from './leases/agent-routes.js';
import { registerBorrowRoutes } from './leases/borrow-routes.js';
import { registerSigningKeyRoutes } from './leases/signing-key-routes.js';
import { registerOfflineLicenseRoutes } from './leases/offline-license-routes.js';
import { buildOpenApiDocument } from './openapi/openapi-document.js';
import { registerPoolRoutes } from './pools/pool-routes.js';
import { registerAgentSetupRoutes, type AgentSetup } from './console/agent-setup-routes.js';
import { registerAttentionRoutes } from './insights/attention-routes.js';
import type { Services } from './services.js';
import { LANES, type ConnectionBudget } from './db/connection-budget.js';
import { ConcurrencyLimit } from './leases/concurrency-limit.js';

const API_VERSION = '1.0.0';

/** Every REST route, declared once; the OpenAPI document is generated from the same declarations. */
export function buildApiRouter(
  config: Pick<Config, 'rateLimits' | 'oidc'> & { readonly mqtt?: Pick<Config['mqtt'], 'emqxHookToken' | 'username' | 'password'> },
  db: Db,
  s: Services,
  opts: {
    /** Replicas on one database count against one limit (rate_limit_hits); alone, memory will do. */
    sharedRateLimits?: boolean;
    /** What the console's agent command needs: the URLs agents reach. */
    agentSetup?: () => AgentSetup;
    /** The connection budget; its adminWrites lane bounds users' writes in flight (default lanes otherwise). */
    budget?: ConnectionBudget;
    /** The dispatcher MQTT and Socket.IO use, so HTTP shares their in-flight bound; a new one otherwise. */
    agents?: AgentHandler;
  } = {},
): { router: Router; registry: RouteRegistry } {
  const store = (prefix: string) => (opts.sharedRateLimits ? { store: new PgRateLimitStore(db, prefix) } : {});
  const agentSetup = opts.agentSetup ?? (() => ({ controllerUrl: null, mqttUrl: null }));
  const routes = new RouteRegistry();
  registerPoolRoutes(routes, s.pools, s.enrollment);
  registerEnrollmentRoutes(
    routes,
    s.enrollment,
    failureLimiter({ perMinute: config.rateLimits.enrollFailuresPerMinute, failedStatuses: [400, 404, 409, 410], what: 'enrollments', ...store('enroll:') }),
  );
  registerBulkAllocationRoutes(routes, s.bulkAllocations, s.gateways, s.pools);
  registerGatewayRoutes(routes, s.gateways);
  registerHistoryRoutes(routes, s.history);
  registerOfflineLicenseRoutes(routes, s.leases);
  const agents = opts.agents ?? new AgentHandler(s, { maxInFlight: (opts.budget?.lanes ?? LANES).agentMessages });
  registerAgentRoutes(routes, agents, () => s.publishedKeys.jwks(), () => s.keySet.document());
  registerElasticRoutes(routes, s.elastic);
  registerSimulateRoutes(routes, s.simulate);
  registerBorrowRoutes(routes, agents);
  registerAuditRoutes(routes, s.audit);
  registerTokenRoutes(routes, s.tokens);
  registerSigningKeyRoutes(routes, s.signingKeys);
  const mqtt = config.mqtt;
  if (mqtt?.emqxHookToken) {
    const controller = mqtt.username && mqtt.password ? { username: mqtt.username, password: mqtt.password } : undefined;
    registerEmqxRoutes(routes, new EmqxDecisions(s.gatewayAuth, controller), mqtt.emqxHookToken);
  }
  registerAgentSetupRoutes(routes, agentSetup);
  registerAttentionRoutes(routes, s.attention);
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
  // API answers carry fleet data for a bearer of a token: no browser or proxy keeps them (a route
  // may say otherwise, as the public key set does). The console refetches what it shows anyway.
  router.use('/api/', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Failed authentications count per address; a valid credential is never refused.
  const authLimit = authFailureLimiter({ perMinute: config.rateLimits.authFailuresPerMinute, ...store('auth:') });
  const adminWrites = new ConcurrencyLimit((opts.budget?.lanes ?? LANES).adminWrites);
  router.use(routes.router(createActorResolver(s.gatewayAuth, s.tokens, config.oidc), { adminWrites }));
  router.use(authLimit);
  return { router, registry: routes };
}
