import { z } from 'zod';
import { idParams, tokenCreateBody, tokenCreated, tokenView } from '../../shared/protocol/rest.js';
import type { RouteRegistry } from '../http/route-registry.js';
import type { ApiTokenRow } from './token-store.js';
import type { TokenService } from './token-service.js';

const view = (t: ApiTokenRow) => ({
  id: t.id,
  name: t.name,
  role: t.role,
  tokenPrefix: t.tokenPrefix,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
});

export function registerTokenRoutes(routes: RouteRegistry, tokens: TokenService): void {
  const tag = 'tokens';
  routes.add({
    method: 'get',
    path: '/api/v1/tokens',
    summary: 'List API tokens (never the secrets)',
    tag,
    auth: { role: 'admin' },
    responses: { 200: { description: 'Tokens', schema: z.array(tokenView) } },
    handler: async () => ({ body: (await tokens.list()).map(view) }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/tokens',
    summary: 'Create an API token (the secret is shown once)',
    tag,
    auth: { role: 'admin' },
    body: tokenCreateBody,
    responses: { 201: { description: 'Created', schema: tokenCreated } },
    handler: async ({ body, actor }) => {
      const { row, token } = await tokens.create({ ...body, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined }, actor);
      return { status: 201, body: { ...view(row), token } };
    },
  });
  routes.add({
    method: 'delete',
    path: '/api/v1/tokens/:id',
    summary: 'Revoke an API token',
    tag,
    auth: { role: 'admin' },
    params: idParams,
    responses: { 200: { description: 'Revoked', schema: tokenView } },
    handler: async ({ params, actor }) => ({ body: view(await tokens.revoke(params.id, actor)) }),
  });
  routes.add({
    method: 'get',
    path: '/api/v1/me',
    summary: 'Who the bearer token belongs to',
    tag,
    auth: { role: 'viewer' },
    responses: { 200: { description: 'The caller', schema: z.object({ name: z.string(), role: z.string(), via: z.string() }) } },
    handler: async ({ actor }) => ({ body: actor.kind === 'user' ? { name: actor.name, role: actor.role, via: actor.via } : undefined }),
  });
}
