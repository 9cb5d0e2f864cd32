import { z } from 'zod';
import { KEY_SET_PATH, keySetDocumentSchema, type KeySetDocument } from '../../shared/protocol/key-set.js';
import { leaseAckBody, leaseGrant, licenseFileLoadedAnswer, licenseFileLoadedBody, usageReportBody } from '../../shared/protocol/rest.js';
import type { Actor } from '../auth/actor.js';
import { AppError } from '../errors/app-error.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { AgentHandler } from './agent-handler.js';

/**
 * The agent's HTTP pull fallback; MQTT and Socket.IO carry the same operations, and all three hand
 * them to the one AgentHandler (a release takes the gateway offline, usage takes the in-flight bound).
 */
export function registerAgentRoutes(
  routes: RouteRegistry,
  agents: AgentHandler,
  jwks: () => Promise<{ keys: Record<string, unknown>[] }>,
  keySet: () => Promise<KeySetDocument>,
): void {
  const tag = 'agent';
  // The registry only calls these handlers for an authenticated gateway; this narrows the type.
  const gatewayOf = (actor: Actor): { gatewayId: string; poolId: string } => {
    if (actor.kind !== 'gateway') throw new AppError('unauthorized', 'a gateway credential is required');
    return actor;
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
    handler: async ({ actor, body }) => ({ body: await agents.lease(gatewayOf(actor).gatewayId, body.renewal === true, 'http') }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/lease/ack',
    summary: 'Acknowledge an accepted lease; older leases stop counting',
    tag,
    auth: 'gateway',
    body: leaseAckBody,
    responses: { 200: { description: 'Acknowledged', schema: z.object({ acknowledged: z.boolean() }) } },
    handler: async ({ actor, body }) => ({ body: await agents.ack(gatewayOf(actor).gatewayId, body, 'http') }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/lease/release',
    summary: "Release the calling gateway's leases; the points return at once",
    tag,
    auth: 'gateway',
    responses: { 200: { description: 'Released', schema: z.object({ released: z.int() }) } },
    handler: async ({ actor }) => {
      const { gatewayId, poolId } = gatewayOf(actor);
      return { body: await agents.release(gatewayId, poolId, 'http') };
    },
  });
  routes.add({
    method: 'post',
    path: '/api/v1/agent/license-file',
    summary: 'Report an offline license file loaded at the device (audited lease.offline-loaded, once per file)',
    tag,
    auth: 'gateway',
    body: licenseFileLoadedBody,
    responses: { 200: { description: 'Recorded (false: this load was recorded before)', schema: licenseFileLoadedAnswer } },
    handler: async ({ actor, body }) => ({ body: await agents.licenseFileLoaded(gatewayOf(actor).gatewayId, body) }),
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
      await agents.usage(gatewayOf(actor).gatewayId, body, 'http');
    },
  });
}
