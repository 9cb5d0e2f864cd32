import { calculateJwkThumbprint, generalVerify, importJWK, type JWSHeaderParameters } from 'jose';
import { z } from 'zod';
import { KEY_SET_TYP, keySetDocumentSchema, keySetPayloadSchema } from '../../shared/protocol/key-set.js';
import { parseJsonPayload } from '../../shared/json-payload.js';

const ed25519PublicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  kid: z.string().min(1).optional(),
  alg: z.literal('EdDSA').optional(),
});

const jwksSchema = z.object({ keys: z.array(z.unknown()) });

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

export type KeySetVerdict =
  | { readonly ok: true; readonly jwks: { keys: Record<string, unknown>[] }; readonly iat: number; readonly vouchedBy: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'not-vouched' | 'stale'; readonly message: string };

/**
 * Checks a key set the controller published (see shared/protocol/key-set.ts): it counts only if a
 * key the agent already pins signed it, and only if it is not older than the set pinned last
 * (`minIatSec`), so neither a stranger's set nor an old genuine one can replace the pinned keys.
 */
export async function verifyKeySet(doc: unknown, pinned: PinnedKeys, minIatSec: number): Promise<KeySetVerdict> {
  const parsed = keySetDocumentSchema.safeParse(doc);
  if (!parsed.success) return { ok: false, reason: 'malformed', message: 'not a key set document' };
  let result: Awaited<ReturnType<typeof generalVerify>>;
  try {
    result = await generalVerify(parsed.data, (header: JWSHeaderParameters) => {
      const key = typeof header.kid === 'string' ? pinned.get(header.kid) : undefined;
      if (!key || header.typ !== KEY_SET_TYP) throw new Error('not signed by a pinned key');
      return key;
    }, { algorithms: ['EdDSA'] });
  } catch {
    return { ok: false, reason: 'not-vouched', message: `no signature by a pinned key (pinned: ${[...pinned.keys()].join(', ')})` };
  }
  const payload = parseJsonPayload(result.payload);
  if (payload === undefined) return { ok: false, reason: 'malformed', message: 'the key set payload is not JSON' };
  const set = keySetPayloadSchema.safeParse(payload);
  if (!set.success) return { ok: false, reason: 'malformed', message: 'the key set payload has an unexpected shape' };
  if (set.data.iat < minIatSec) return { ok: false, reason: 'stale', message: `key set of ${set.data.iat} is older than the pinned one (${minIatSec})` };
  try {
    pinnedJwkEntries(set.data);
  } catch (err) {
    return { ok: false, reason: 'malformed', message: (err as Error).message };
  }
  return { ok: true, jwks: { keys: set.data.keys }, iat: set.data.iat, vouchedBy: String(result.protectedHeader?.kid) };
}
