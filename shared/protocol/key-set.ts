import { z } from 'zod';

/**
 * The controller's signing keys, vouched for: a JWS (general JSON serialization) over the published
 * key set, with one signature per signing key the controller still holds. An agent adopts a new key
 * only from a set that one of the keys it already pins has signed, so whoever answers on the
 * controller's address cannot hand it a key of their own.
 */
export const KEY_SET_TYP = 'floatlease-keyset+json';
export const KEY_SET_PATH = '/.well-known/floatlease-keyset.json';

export const keySetPayloadSchema = z.object({
  /** Seconds since the epoch when the set was signed; an agent never goes back to an older set. */
  iat: z.int().nonnegative(),
  keys: z.array(z.record(z.string(), z.unknown())).min(1).max(32),
});

const b64url = z.string().regex(/^[\w-]*$/).max(65_536);
export const keySetDocumentSchema = z.object({
  payload: b64url,
  signatures: z.array(z.object({ protected: b64url, signature: b64url })).min(1).max(32),
});
export type KeySetDocument = z.infer<typeof keySetDocumentSchema>;
