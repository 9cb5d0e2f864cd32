import { z } from 'zod';
import {
  activationCodeCreateBody,
  activationCodeCreated,
  activationCodeView,
  idParams,
  licenseUploadBody,
  poolCreateBody,
  poolLicenseView,
  poolPatchBody,
  poolView,
} from '../../shared/protocol/rest.js';
import type { EnrollmentService } from '../enrollment/enrollment-service.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { PoolService } from './pool-service.js';

export function registerPoolRoutes(routes: RouteRegistry, pools: PoolService, enrollment: EnrollmentService): void {
  const tag = 'pools';
  routes.add({
    method: 'get',
    path: '/api/v1/pools',
    summary: 'List pools with capacity, held points and utilization',
    tag,
    auth: { role: 'viewer' },
    responses: { 200: { description: 'Pools', schema: z.array(poolView) } },
    handler: async () => ({ body: await pools.list() }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/pools',
    summary: 'Create a pool (its capacity comes from an uploaded license)',
    tag,
    auth: { role: 'admin' },
    body: poolCreateBody,
    responses: { 201: { description: 'Created', schema: poolView } },
    handler: async ({ body, actor }) => ({ status: 201, body: await pools.create(body, actor) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/pools/:id',
    summary: 'One pool',
    tag,
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'The pool', schema: poolView } },
    handler: async ({ params }) => ({ body: await pools.get(params.id) }),
  });
  routes.add({
    method: 'patch',
    path: '/api/v1/pools/:id',
    summary: 'Change pool settings (missing fields stay as they are)',
    tag,
    auth: { role: 'admin' },
    params: idParams,
    body: poolPatchBody,
    responses: { 200: { description: 'The pool', schema: poolView } },
    handler: async ({ params, body, actor }) => ({ body: await pools.update(params.id, body, actor) }),
  });
  routes.add({
    method: 'put',
    path: '/api/v1/pools/:id/license',
    summary: "Upload a pool license (replaces the current one; refused below what is held unless forced)",
    tag,
    auth: { role: 'admin' },
    params: idParams,
    body: licenseUploadBody,
    responses: { 200: { description: 'The pool with its new license', schema: poolView } },
    handler: async ({ params, body, actor }) => ({ body: await pools.uploadLicense(params.id, body.license, body.force ?? false, actor) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/pools/:id/licenses',
    summary: "The pool's license history, newest first",
    tag,
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'Licenses', schema: z.array(poolLicenseView) } },
    handler: async ({ params }) => ({ body: await pools.licenseHistory(params.id) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/pools/:id/activation-codes',
    summary: 'Create an activation code (the code is shown once)',
    tag: 'activation-codes',
    auth: { role: 'operator' },
    params: idParams,
    body: activationCodeCreateBody,
    responses: { 201: { description: 'Created; `code` is not shown again', schema: activationCodeCreated } },
    handler: async ({ params, body, actor }) => ({
      status: 201,
      body: await enrollment.createCode(params.id, { ...body, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined }, actor),
    }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/pools/:id/activation-codes',
    summary: "The pool's activation codes with seats used",
    tag: 'activation-codes',
    auth: { role: 'viewer' },
    params: idParams,
    responses: { 200: { description: 'Codes', schema: z.array(activationCodeView) } },
    handler: async ({ params }) => ({ body: await enrollment.listCodes(params.id) }),
  });
}
