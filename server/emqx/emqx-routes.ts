import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors/app-error.js';
import type { RouteRegistry } from '../http/route-registry.js';
import { emqxAuthnRequest, emqxAuthzRequest, type EmqxDecisions } from './emqx-decisions.js';

const result = z.enum(['allow', 'deny', 'ignore']);

/**
 * The endpoints EMQX's HTTP authenticator and authorizer call (formats in emqx-decisions.ts). EMQX
 * sends the headers configured on them; only a request with `x-emqx-hook-token: <EMQX_HOOK_TOKEN>`
 * is answered, so nobody else can probe credentials through them. (Not Authorization: that header
 * is the API's own bearer token.)
 */
export function registerEmqxRoutes(routes: RouteRegistry, decisions: EmqxDecisions, hookToken: string): void {
  const expected = Buffer.from(hookToken);
  const fromEmqx = (header: string | undefined) => {
    const got = Buffer.from(header ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new AppError('unauthorized', 'EMQX hook token required');
  };
  routes.add({
    method: 'post',
    path: '/api/v1/emqx/authn',
    summary: 'EMQX 5 HTTP authentication: may this client connect?',
    tag: 'emqx',
    auth: 'public',
    body: emqxAuthnRequest,
    responses: { 200: { description: 'EMQX authentication result', schema: z.object({ result, is_superuser: z.boolean() }) } },
    handler: async ({ body, req }) => {
      fromEmqx(req.get('x-emqx-hook-token'));
      return { body: await decisions.authenticate(body) };
    },
  });
  routes.add({
    method: 'post',
    path: '/api/v1/emqx/authz',
    summary: 'EMQX 5 HTTP authorization: may this client publish or subscribe to this topic?',
    tag: 'emqx',
    auth: 'public',
    body: emqxAuthzRequest,
    responses: { 200: { description: 'EMQX authorization result', schema: z.object({ result }) } },
    handler: async ({ body, req }) => {
      fromEmqx(req.get('x-emqx-hook-token'));
      return { body: decisions.authorize(body) };
    },
  });
}
