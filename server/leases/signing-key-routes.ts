import { z } from 'zod';
import type { RouteRegistry } from '../http/route-registry.js';
import { actorLabel } from '../auth/actor.js';
import type { SigningKeyService } from './signing-key-service.js';

const keyView = z.object({ kid: z.string(), createdAt: z.string(), retiredAt: z.string().nullable(), signing: z.boolean() });

/**
 * Lease-signing keys. Rotating makes new leases use a new key once it is published (JWKS and the
 * key set the old keys vouch for, see PublishedSigningKey); the old one stays in the JWKS until
 * the last lease it signed has expired. With SIGNING_KEY_KEK (required for several replicas) the
 * keys live in the database and every replica signs with the new key within SIGNING_KEY_REFRESH_MS;
 * without it this endpoint writes to this replica's SIGNING_KEY_DIR only.
 */
export function registerSigningKeyRoutes(routes: RouteRegistry, keys: SigningKeyService): void {
  routes.add({
    method: 'get',
    path: '/api/v1/signing-keys',
    summary: 'Lease-signing keys of this replica (public information only)',
    tag: 'signing-keys',
    auth: { role: 'admin' },
    responses: { 200: { description: 'Keys', schema: z.array(keyView) } },
    handler: async () => ({ body: keys.list() }),
  });
  routes.add({
    method: 'post',
    path: '/api/v1/signing-keys/rotate',
    summary: 'Start signing with a new key; the old key stays published while its leases live',
    tag: 'signing-keys',
    auth: { role: 'admin' },
    responses: { 200: { description: 'Keys after the rotation', schema: z.array(keyView) } },
    handler: async ({ actor }) => ({ body: await keys.rotate(actorLabel(actor)) }),
  });
}
