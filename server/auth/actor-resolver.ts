import type { Request } from 'express';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Role } from '../../shared/protocol/rest.js';
import { roles } from '../../shared/protocol/rest.js';
import { AppError } from '../errors/app-error.js';
import type { ActorResolver } from '../http/route-registry.js';
import type { Actor } from './actor.js';
import type { GatewayAuthenticator } from './gateway-authenticator.js';
import type { TokenService } from './token-service.js';

export interface OidcSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string | undefined;
  readonly roleClaim: string;
  readonly defaultRole: Role;
}

function oidcVerifier(s: OidcSettings) {
  let jwks: JWTVerifyGetKey | undefined;
  const keys = async (): Promise<JWTVerifyGetKey> => {
    if (jwks) return jwks;
    let url = s.jwksUrl;
    if (!url) {
      const res = await fetch(new URL('.well-known/openid-configuration', s.issuer.endsWith('/') ? s.issuer : `${s.issuer}/`));
      url = ((await res.json()) as { jwks_uri?: string }).jwks_uri;
      if (!url) throw new Error('OIDC discovery returned no jwks_uri');
    }
    jwks = createRemoteJWKSet(new URL(url));
    return jwks;
  };
  return async (token: string): Promise<Actor | undefined> => {
    try {
      const { payload } = await jwtVerify(token, await keys(), { issuer: s.issuer, audience: s.audience });
      const claimed = payload[s.roleClaim];
      const role = (roles as readonly string[]).includes(String(claimed)) ? (claimed as Role) : s.defaultRole;
      const name = String(payload.preferred_username ?? payload.email ?? payload.sub ?? 'oidc-user');
      return { kind: 'user', id: String(payload.sub ?? name), name, role, via: 'oidc' };
    } catch {
      return undefined;
    }
  };
}

/**
 * Bearer tokens: `fl_…` API tokens, `flg.…` gateway credentials, else (if configured) OIDC JWTs.
 * A presented but invalid credential is a 401, never a silent anonymous request.
 */
export function createActorResolver(gateways: GatewayAuthenticator, tokens: TokenService, oidc: OidcSettings | undefined): ActorResolver {
  const verifyOidc = oidc ? oidcVerifier(oidc) : undefined;
  return async (req: Request) => {
    const header = req.headers.authorization;
    if (!header) return { kind: 'anonymous' };
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new AppError('unauthorized', 'Authorization must be "Bearer <token>"');
    const token = m[1]!;
    const actor = token.startsWith('flg.') ? await gateways.authenticate(token) : (await tokens.authenticate(token)) ?? (await verifyOidc?.(token));
    if (!actor) throw new AppError('unauthorized', 'the bearer token is not valid');
    return actor;
  };
}
