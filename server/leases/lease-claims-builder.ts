import crypto from 'node:crypto';
import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import { AppError } from '../errors/app-error.js';
import type { Points } from './lease-accounting.js';
import type { GrantTarget } from './lease-batch-store.js';

const toSec = (ms: number) => Math.floor(ms / 1000);

/** Why this gateway gets no lease now, if it does not. */
export function grantRefusal(t: GrantTarget, nowMs: number): AppError | undefined {
  if (t.revoked) return new AppError('unauthorized', `gateway ${t.id} is decommissioned`);
  if (!t.licenseExpiresAt) return new AppError('license-expired', `pool ${t.poolName} has no license; no leases are granted`);
  if (t.licenseExpiresAt.getTime() <= nowMs) {
    return new AppError('license-expired', `pool ${t.poolName}'s license expired at ${t.licenseExpiresAt.toISOString()}; leases are not renewed`);
  }
  return undefined;
}

/**
 * The claims of a fresh lease granting `points` (decided by the grant policy); the target must have a license.
 * `offlineTtlSec`: an offline license file, which lives that long and carries no disconnect grace
 * (the controller never reclaims it early: the device enforces it without reaching anyone).
 */
export function leaseClaimsFor(t: GrantTarget, iat: number, who: { issuer: string; audience: string }, points: Points, offlineTtlSec?: number): LeaseClaims {
  const licenseExpiresAt = toSec(t.licenseExpiresAt!.getTime());
  // A lease never outlives the pool license that backs it.
  const exp = Math.min(iat + (offlineTtlSec ?? t.leaseTtlSeconds), licenseExpiresAt);
  return {
    iss: who.issuer,
    sub: t.id,
    aud: who.audience,
    jti: crypto.randomUUID(),
    iat,
    nbf: iat,
    exp,
    seq: t.leaseSeq + 1,
    pool: t.poolId,
    hwid: t.hardwareId,
    points: { tags: points.tags, connections: points.connections },
    plugins: t.allocPlugins.filter((p) => t.poolPlugins.includes(p)),
    licenseExpiresAt,
    ...(t.licenseIssuedAt ? { licenseIssuedAt: toSec(t.licenseIssuedAt.getTime()) } : {}),
    ...(t.licenseCustomer ? { customer: t.licenseCustomer } : {}),
    ttl: exp - iat,
    ...(t.disconnectGraceSec !== undefined && offlineTtlSec === undefined ? { disconnectGraceSec: t.disconnectGraceSec } : {}),
    ...(offlineTtlSec !== undefined ? { offline: true as const } : {}),
  };
}
