import type { RequestHandler } from 'express';
import { z } from 'zod';
import { activationCodeView, enrollBody, enrollResponse, gatewayView, idParams } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { EnrollmentService } from './enrollment-service.js';
import { gatewayViewFor } from '../gateways/gateway-view.js';

export function registerEnrollmentRoutes(routes: RouteRegistry, enrollment: EnrollmentService, enrollLimiter: RequestHandler): void {
  routes.add({
    method: 'post',
    path: '/api/v1/enroll',
    summary: 'Enroll a gateway with an activation code and its hardware identifier',
    tag: 'enrollment',
    auth: 'public',
    before: [enrollLimiter],
    body: enrollBody,
    responses: { 200: { description: 'The gateway identity and its credential', schema: enrollResponse } },
    handler: async ({ body, req }) => ({ body: await enrollment.enroll(body, req.ip ?? 'unknown') }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/activation-codes/:id/revoke',
    summary: 'Revoke an activation code (enrolled gateways keep working)',
    tag: 'activation-codes',
    auth: { role: 'operator' },
    params: idParams,
    responses: { 200: { description: 'The revoked code', schema: activationCodeView } },
    handler: async ({ params, actor }) => ({ body: await enrollment.revokeCode(params.id, actor) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/activation-codes/:id/seats',
    summary: 'The gateways holding seats of this code',
    tag: 'activation-codes',
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'Gateways', schema: z.array(gatewayView) } },
    handler: async ({ params, actor }) => ({ body: (await enrollment.seats(params.id)).map((g) => gatewayViewFor(actor, g)) }),
  });
}
