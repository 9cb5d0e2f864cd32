import { z } from 'zod';
import { idParams, leaseGrant } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import { DEFAULT_OFFLINE_MAX_SECONDS, type LeaseService } from './lease-service.js';

const offlineLicenseBody = z.strictObject({ ttlSeconds: z.int().min(60).max(DEFAULT_OFFLINE_MAX_SECONDS).optional() });
/** The file's content is `license` (a compact JWS); the agent takes it as is or this whole JSON. */
const offlineLicenseView = leaseGrant.extend({ gatewayId: z.uuid(), license: z.string() });

const DEFAULT_TTL_SEC = 24 * 3600;

/**
 * Offline license files (PRODUCT F1, issue 17 finding 9): for a gateway that will not reach the
 * controller for a while, an operator issues a lease for its hardware with a longer lifetime; someone
 * carries the file to the device and loads it on the agent's license page (POST /api/license/file).
 */
export function registerOfflineLicenseRoutes(routes: RouteRegistry, leases: LeaseService): void {
  routes.add({
    method: 'post',
    path: '/api/v1/gateways/:id/offline-license',
    summary: "Issue an offline license file for the gateway's hardware (a lease held in the pool until it expires; audited lease.offline-issued)",
    tag: 'gateways',
    auth: { role: 'operator' },
    params: idParams,
    body: offlineLicenseBody,
    responses: { 200: { description: 'The offline license (its `license` field is the file)', schema: offlineLicenseView } },
    handler: async ({ params, body, actor }) => {
      const grant = await leases.issueOffline(params.id, body.ttlSeconds ?? DEFAULT_TTL_SEC, actor);
      return { body: { ...grant, license: grant.lease, gatewayId: params.id } };
    },
  });
}
