import { calculateJwkThumbprint, importJWK } from 'jose';
import { z } from 'zod';

const ed25519PublicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  kid: z.string().min(1).optional(),
  alg: z.literal('EdDSA').optional(),
});

export const jwksSchema = z.object({ keys: z.array(z.unknown()) });
export type JwksInput = z.infer<typeof jwksSchema>;

export type PinnedKeys = ReadonlyMap<string, CryptoKey>;

/**
 * The Ed25519 public keys of a JWKS by kid (the RFC 7638 thumbprint when a key carries none).
 * Other key types are skipped; a set with no usable key is refused, since it would refuse every lease.
 */
export function pinnedJwkEntries(jwks: unknown): z.infer<typeof ed25519PublicJwkSchema>[] {
  const set = jwksSchema.safeParse(jwks);
  if (!set.success) throw new TypeError('a JWKS must be an object with a "keys" array');
  const usable = set.data.keys.flatMap((k) => {
    const parsed = ed25519PublicJwkSchema.safeParse(k);
    return parsed.success ? [parsed.data] : [];
  });
  if (usable.length === 0) throw new TypeError('the JWKS holds no Ed25519 public key');
  return usable;
}

export async function importPinnedKeys(entries: readonly z.infer<typeof ed25519PublicJwkSchema>[]): Promise<PinnedKeys> {
  const keys = new Map<string, CryptoKey>();
  for (const { kty, crv, x, kid } of entries) {
    const key = await importJWK({ kty, crv, x }, 'EdDSA');
    if (!(key instanceof CryptoKey)) continue;
    keys.set(kid ?? (await calculateJwkThumbprint({ kty, crv, x }, 'sha256')), key);
  }
  return keys;
}
