import { compactVerify, decodeProtectedHeader, errors } from 'jose';
import { LEASE_TYP, leaseClaimsSchema, type LeaseClaims } from '../../shared/protocol/lease-claims.js';
import type { Clock } from './clock.js';
import { importPinnedKeys, pinnedJwkEntries, type PinnedKeys } from './pinned-keys.js';
import { describeIssues } from '../../shared/zod-issues.js';
import { parseJsonPayload } from '../../shared/json-payload.js';

/** Stable codes: logs, metrics and the controller branch on these, never on messages. */
export type LeaseRefusalReason =
  | 'bad-signature'
  | 'unknown-key'
  | 'wrong-audience'
  | 'wrong-issuer'
  | 'wrong-gateway'
  | 'wrong-hardware'
  | 'expired'
  | 'not-yet-valid'
  | 'replayed'
  | 'malformed';

interface LeaseAccepted {
  readonly ok: true;
  readonly claims: LeaseClaims;
  readonly kid: string;
}
export interface LeaseRefused {
  readonly ok: false;
  readonly reason: LeaseRefusalReason;
  readonly message: string;
}
export type LeaseVerdict = LeaseAccepted | LeaseRefused;

export interface LeaseVerifierOptions {
  /** The pinned JWKS; replace it with `replaceJwks` when the controller rotates keys. */
  readonly jwks: unknown;
  readonly gatewayId: string;
  readonly hardwareId: string;
  readonly audience: string;
  readonly issuer?: string;
  readonly clockSkewSec?: number;
  readonly clock: Pick<Clock, 'now'>;
}

const MAX_LEASE_CHARS = 8_192;
// The signature part may be empty so an unsigned ("alg: none") token is refused for its algorithm.
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;

const refuse = (reason: LeaseRefusalReason, message: string): LeaseRefused => ({ ok: false, reason, message });

export class LeaseVerifier {
  private keys!: Promise<PinnedKeys>;
  private readonly skewSec: number;

  constructor(private readonly options: LeaseVerifierOptions) {
    this.skewSec = options.clockSkewSec ?? 30;
    if (!Number.isFinite(this.skewSec) || this.skewSec < 0) throw new RangeError('clockSkewSec must be a non-negative number');
    this.replaceJwks(options.jwks);
  }

  /** Validates the set at once (throws on a set with no usable key); imports the keys in the background. */
  replaceJwks(jwks: unknown): void {
    const keys = importPinnedKeys(pinnedJwkEntries(jwks));
    keys.catch(() => undefined);
    this.keys = keys;
  }

  /** The keys leases are checked against now (a key set must be signed by one of them to replace them). */
  pinned(): Promise<PinnedKeys> {
    return this.keys;
  }

  /** Never throws for a bad lease: every refusal comes back with its reason. */
  async verify(jws: string, lastAcceptedSeq: number): Promise<LeaseVerdict> {
    if (typeof jws !== 'string' || jws.length > MAX_LEASE_CHARS || !COMPACT_JWS.test(jws)) {
      return refuse('malformed', 'not a compact JWS');
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(jws);
    } catch {
      return refuse('malformed', 'the JWS header is not valid base64url JSON');
    }
    // Decided from the header before any key is touched: no "none", no HMAC-with-public-key confusion.
    if (header.alg !== 'EdDSA') return refuse('bad-signature', `algorithm ${String(header.alg)} is not accepted, only EdDSA`);
    if (header.typ !== LEASE_TYP) return refuse('malformed', `not a lease (typ ${String(header.typ)})`);
    const kid = header.kid;
    const key = typeof kid === 'string' ? (await this.keys).get(kid) : undefined;
    if (kid === undefined || key === undefined) return refuse('unknown-key', `signed by key ${String(kid)}, which is not pinned`);

    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(jws, key, { algorithms: ['EdDSA'] }));
    } catch (err) {
      if (err instanceof errors.JWSSignatureVerificationFailed) return refuse('bad-signature', 'signature does not verify');
      return refuse('malformed', 'not a valid JWS');
    }
    const parsed = leaseClaimsSchema.safeParse(parseJsonPayload(payload));
    if (!parsed.success) {
      return refuse('malformed', describeIssues(parsed.error.issues));
    }
    const refusal = this.checkClaims(parsed.data, lastAcceptedSeq);
    return refusal ?? { ok: true, claims: parsed.data, kid };
  }

  private checkClaims(c: LeaseClaims, lastAcceptedSeq: number): LeaseRefused | undefined {
    const o = this.options;
    if (c.aud !== o.audience) return refuse('wrong-audience', `audience ${c.aud} is not ${o.audience}`);
    if (o.issuer !== undefined && c.iss !== o.issuer) return refuse('wrong-issuer', `issuer ${c.iss} is not ${o.issuer}`);
    if (c.sub !== o.gatewayId) return refuse('wrong-gateway', `lease is for gateway ${c.sub}`);
    if (c.hwid !== o.hardwareId) return refuse('wrong-hardware', 'lease is bound to other hardware');
    const nowSec = o.clock.now() / 1000;
    if (c.nbf > nowSec + this.skewSec) return refuse('not-yet-valid', `valid from ${c.nbf}, now ${Math.floor(nowSec)}`);
    if (c.exp <= nowSec - this.skewSec) return refuse('expired', `expired at ${c.exp}, now ${Math.floor(nowSec)}`);
    if (c.seq <= lastAcceptedSeq) return refuse('replayed', `seq ${c.seq} is not after ${lastAcceptedSeq}`);
    return undefined;
  }
}
