import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { NeuronError } from './errors.js';

const CORE_TOKEN_LIFETIME_S = 3600;
const NEURONEX_TOKEN_LIFETIME_S = 24 * 3600;

export interface AuthOptions {
  username: string;
  password: string;
  disableAuth: boolean;
}

/**
 * Issues and checks the gateway's JWTs. Neuron signs RS256 with `neuron.key`; the simulator signs
 * HS256 with a per-instance secret, which clients cannot tell apart (they never verify it).
 */
export class SimAuth {
  private readonly secret = new Uint8Array(randomBytes(32));

  constructor(readonly options: AuthOptions) {}

  credentialsMatch(name: unknown, pass: unknown): boolean {
    return name === this.options.username && pass === this.options.password;
  }

  /** A core token: iss = aud = "neuron", one hour (neu_jwt.c). */
  issueCoreToken(user = this.options.username): Promise<string> {
    return this.sign(user, 'neuron', CORE_TOKEN_LIFETIME_S);
  }

  /** A NeuronEX token: aud "neuronex", 24 hours (jwt.md). */
  issueNeuronExToken(user = this.options.username): Promise<string> {
    return this.sign(user, 'neuronex', NEURONEX_TOKEN_LIFETIME_S);
  }

  private sign(user: string, audience: string, lifetime: number): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ user, bodyEncode: 0 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(audience)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + lifetime)
      .sign(this.secret);
  }

  /** 0 when the Authorization header carries a valid token, else the Neuron error code. */
  async check(authorization: string | undefined): Promise<number> {
    if (this.options.disableAuth) return 0;
    if (authorization === undefined || authorization.trim() === '') return NeuronError.NEED_TOKEN;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    const token = match?.[1];
    if (token === undefined) return NeuronError.DECODE_TOKEN;
    try {
      // Both kinds are accepted everywhere: NeuronEX forwards its own token to the core.
      await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        issuer: ['neuron', 'neuronex'],
        audience: ['neuron', 'neuronex'],
        requiredClaims: ['exp', 'iat'],
      });
      return 0;
    } catch (err) {
      return tokenErrorCode(err);
    }
  }
}

function tokenErrorCode(err: unknown): number {
  if (err instanceof errors.JWTExpired) return NeuronError.EXPIRED_TOKEN;
  if (err instanceof errors.JWSSignatureVerificationFailed) return NeuronError.VALIDATE_TOKEN;
  if (err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JOSEAlgNotAllowed) return NeuronError.INVALID_TOKEN;
  return NeuronError.DECODE_TOKEN;
}
