import { z } from 'zod';
import { KEY_SET_PATH, keySetDocumentSchema, type KeySetDocument } from '../../shared/protocol/key-set.js';
import { leaseAckBody, leaseGrant, licenseFileLoadedAnswer, licenseFileLoadedBody, usageReportBody } from '../../shared/protocol/rest.js';
import type { Actor } from '../auth/actor.js';
import { AppError } from '../errors/app-error.js';
import type { GatewayService } from '../gateways/gateway-service.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { AgentHandler } from './agent-handler.js';
import type { LeaseService } from './lease-service.js';

/** The agent's HTTP pull fallback; MQTT and Socket.IO carry the same operations. */
export function registerAgentRoutes(
  routes: RouteRegistry,
  leases: LeaseService,
  gateways: GatewayService,
  jwks: () => Promise<{ keys: Record<string, unknown>[] }>,
  keySet: () => Promise<KeySetDocument>,
  handler: Pick<AgentHandler, 'licenseFileLoaded'>,
): void {
  const tag = 'agent';
  // The registry only calls these handlers for an authenticated gateway; this narrows the type.
  const gatewayOf = (actor: Actor): string => {
    if (actor.kind !== 'gateway') throw new AppError('unauthorized', 'a gateway credential is required');
    return actor.gatewayId;
  };
  routes.add({
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: 'Public keys that sign leases (JWKS)',
    tag,
    auth: 'public',
    responses: { 200: { description: 'JWKS', schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
    handler: async ({ res }) => {
      res.setHeader('Cache-Control', 'public, max-age=60');
      return { body: await jwks() };
    },
  });
  routes.add({
    method: 'get',
    path: KEY_SET_PATH,
    summary: 'The JWKS signed by every key the controller holds: agents adopt a new key only from a set a pinned key signed',
    tag,
    auth: 'public',
    responses: { 200: { description: 'Key set (JWS, general JSON serialization)', schema: keySetDocumentSchema } },
    handler: async ({ res }) => {
      res.setHeader('Cache-Control', 'no-cache');
      return { body: await keySet() };
    },
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/lease',
    summary: 'Get a fresh lease for the calling gateway (grant or renewal)',
    tag,
    auth: 'gateway',
    body: z.strictObject({ renewal: z.boolean().optional() }),
    responses: { 200: { description: 'A signed lease', schema: leaseGrant } },
    handler: async ({ actor, body }) => ({ body: await leases.grant(gatewayOf(actor), body.renewal ? 'renewal' : 'grant') }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/lease/ack',
    summary: 'Acknowledge an accepted lease; older leases stop counting',
    tag,
    auth: 'gateway',
    body: leaseAckBody,
    responses: { 200: { description: 'Acknowledged', schema: z.object({ acknowledged: z.boolean() }) } },
    handler: async ({ actor, body }) => ({ body: await leases.acknowledge(gatewayOf(actor), body.jti) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/lease/release',
    summary: "Release the calling gateway's leases; the points return at once",
    tag,
    auth: 'gateway',
    responses: { 200: { description: 'Released', schema: z.object({ released: z.int() }) } },
    handler: async ({ actor }) => ({ body: await leases.release(gatewayOf(actor), actor) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/license-file',
    summary: 'Report an offline license file loaded at the device (audited lease.offline-loaded, once per file)',
    tag,
    auth: 'gateway',
    body: licenseFileLoadedBody,
    responses: { 200: { description: 'Recorded (false: this load was recorded before)', schema: licenseFileLoadedAnswer } },
    handler: async ({ actor, body }) => ({ body: await handler.licenseFileLoaded(gatewayOf(actor), body) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/usage',
    summary: "Report the gateway's real usage",
    tag,
    auth: 'gateway',
    body: usageReportBody,
    responses: { 204: { description: 'Recorded' } },
    handler: async ({ actor, body }) => {
      await gateways.reportUsage(gatewayOf(actor), body);
    },
  });
}
