import { CompactSign, compactVerify, decodeProtectedHeader, errors, importJWK } from 'jose';
import { z } from 'zod';
import { pointsSchema } from '../../shared/protocol/limits.js';
import { ed25519Kid, ed25519PublicJwkSchema } from './ed25519-key.js';
import { describeIssues } from '../../shared/zod-issues.js';
import { parseJsonPayload } from '../../shared/json-payload.js';

export const POOL_LICENSE_TYP = 'floatlease-pool-license+jwt';
const MAX_DOCUMENT_CHARS = 16_384;

const epochSeconds = z.int().nonnegative();

/** A pool license (F1): the capacity a vendor grants one customer's pool. */
export const poolLicenseClaimsSchema = z
  .object({
    iss: z.string().min(1),
    sub: z.string().min(1),
    customer: z.string().min(1),
    iat: epochSeconds,
    nbf: epochSeconds.optional(),
    exp: epochSeconds,
    points: pointsSchema,
    plugins: z.array(z.string().min(1)),
  })
  .refine((c) => c.exp > c.iat, { message: 'exp must be after iat', path: ['exp'] });
export type PoolLicenseClaims = z.infer<typeof poolLicenseClaimsSchema>;

export type PoolLicenseRefusal = 'malformed' | 'unknown-issuer-key' | 'bad-signature';

export class PoolLicenseError extends Error {
  constructor(
    readonly reason: PoolLicenseRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'PoolLicenseError';
  }
}

export interface VerifiedPoolLicense {
  readonly claims: PoolLicenseClaims;
  /** The issuer key that signed it. */
  readonly kid: string;
  /** Expiry is a state of a genuine license, not a reason to call it invalid. */
  readonly expired: boolean;
  readonly notYetValid: boolean;
}

export interface TrustedIssuerJwks {
  readonly keys: readonly unknown[];
}

export async function issuePoolLicense(privateKey: CryptoKey, kid: string, claims: PoolLicenseClaims): Promise<string> {
  const parsed = poolLicenseClaimsSchema.safeParse(claims);
  if (!parsed.success) throw new PoolLicenseError('malformed', `invalid pool license claims: ${describeIssues(parsed.error.issues)}`);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(parsed.data)))
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: POOL_LICENSE_TYP })
    .sign(privateKey);
}

/** Checks signature and shape; `nowSec` only sets the expired / not-yet-valid flags. */
export async function verifyPoolLicense(jws: string, trusted: TrustedIssuerJwks, nowSec: number): Promise<VerifiedPoolLicense> {
  const doc = jws.trim();
  if (doc.length > MAX_DOCUMENT_CHARS || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(doc)) {
    throw new PoolLicenseError('malformed', 'not a compact JWS document');
  }
  const header = decodeHeader(doc);
  if (header.alg !== 'EdDSA') throw new PoolLicenseError('bad-signature', `algorithm ${String(header.alg)} is not accepted, only EdDSA`);
  if (header.typ !== POOL_LICENSE_TYP) throw new PoolLicenseError('malformed', `not a pool license (typ ${String(header.typ)})`);
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const key = kid === undefined ? undefined : await findTrustedKey(trusted, kid);
  if (!kid || !key) throw new PoolLicenseError('unknown-issuer-key', `signed by key ${String(kid)}, which is not a trusted issuer key`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(doc, key, { algorithms: ['EdDSA'] }));
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) throw new PoolLicenseError('bad-signature', 'signature does not verify');
    throw new PoolLicenseError('malformed', 'not a valid JWS document');
  }
  const parsed = poolLicenseClaimsSchema.safeParse(parseJsonPayload(payload));
  if (!parsed.success) throw new PoolLicenseError('malformed', `invalid pool license claims: ${describeIssues(parsed.error.issues)}`);
  const claims = parsed.data;
  return { claims, kid, expired: nowSec >= claims.exp, notYetValid: nowSec < (claims.nbf ?? claims.iat) };
}

function decodeHeader(doc: string): Record<string, unknown> {
  try {
    return decodeProtectedHeader(doc);
  } catch {
    throw new PoolLicenseError('malformed', 'the JWS header is not valid base64url JSON');
  }
}

/** Trusted entries that are not Ed25519 public keys are skipped; a kid defaults to the thumbprint. */
async function findTrustedKey(trusted: TrustedIssuerJwks, kid: string): Promise<CryptoKey | undefined> {
  for (const candidate of trusted.keys) {
    const jwk = ed25519PublicJwkSchema.extend({ kid: z.string().optional() }).safeParse(candidate);
    if (!jwk.success) continue;
    if ((jwk.data.kid ?? (await ed25519Kid(jwk.data))) !== kid) continue;
    const { kty, crv, x } = jwk.data;
    const key = await importJWK({ kty, crv, x }, 'EdDSA');
    if (key instanceof CryptoKey) return key;
  }
  return undefined;
}

