import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import { z } from 'zod';

export const ed25519PublicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});
export type Ed25519PublicJwk = z.infer<typeof ed25519PublicJwkSchema>;

export const ed25519PrivateJwkSchema = ed25519PublicJwkSchema.extend({ d: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
export type Ed25519PrivateJwk = z.infer<typeof ed25519PrivateJwkSchema>;

/** A public JWK as served in a JWKS. */
export interface PublishedJwk extends Ed25519PublicJwk {
  readonly kid: string;
  readonly alg: 'EdDSA';
  readonly use: 'sig';
}

/** An imported key. The private half is a non-extractable CryptoKey, so it cannot leak into a log line. */
export interface Ed25519Key {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublishedJwk;
}

/** RFC 7638 thumbprint (SHA-256), the `kid` of every key we create or import. */
export function ed25519Kid(jwk: Ed25519PublicJwk): Promise<string> {
  return calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'sha256');
}

export async function generateEd25519PrivateJwk(): Promise<Ed25519PrivateJwk> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return ed25519PrivateJwkSchema.parse(await exportJWK(privateKey));
}

export async function importEd25519PrivateJwk(input: unknown): Promise<Ed25519Key> {
  const jwk = ed25519PrivateJwkSchema.parse(input);
  const derived = publicJwkOf(createPrivateKey({ key: { ...jwk }, format: 'jwk' }));
  if (derived.x !== jwk.x) throw new Error('the public half "x" does not belong to the private key "d"');
  const privateKey = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA', { extractable: false });
  if (!(privateKey instanceof CryptoKey)) throw new Error('expected an asymmetric key');
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  const kid = await ed25519Kid(publicJwk);
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } };
}

/** Reads a PKCS#8 PEM Ed25519 private key into a JWK (only transiently, to write or import it). */
export function pkcs8ToPrivateJwk(pem: string): Ed25519PrivateJwk {
  const key = createPrivateKey({ key: pem, format: 'pem' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, found ${key.asymmetricKeyType ?? 'unknown'}`);
  return ed25519PrivateJwkSchema.parse(key.export({ format: 'jwk' }));
}

export function privateJwkToPkcs8(jwk: Ed25519PrivateJwk): string {
  return createPrivateKey({ key: { ...jwk }, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

function publicJwkOf(privateKey: KeyObject): Ed25519PublicJwk {
  return ed25519PublicJwkSchema.parse(createPublicKey(privateKey).export({ format: 'jwk' }));
}
