import type { GatewayView } from '../../shared/protocol/rest.js';
import { hasRole, type Actor } from '../auth/actor.js';
import { pendingPoints } from '../leases/lease-accounting.js';
import type { GatewayLeaseInfo, GatewayRow } from './gateway-store.js';

export function gatewayView(g: GatewayRow, info: GatewayLeaseInfo, now = Date.now()): GatewayView {
  const l = info.latest;
  return {
    id: g.id,
    name: g.name,
    poolId: g.poolId,
    hardwareId: g.hardwareId,
    online: g.online,
    transport: g.transport,
    lastSeenAt: g.lastSeenAt?.toISOString() ?? null,
    presenceChangedAt: g.presenceChangedAt?.toISOString() ?? null,
    enrolledAt: g.enrolledAt.toISOString(),
    decommissionedAt: g.revokedAt?.toISOString() ?? null,
    allocation: { tags: g.allocTags, connections: g.allocConnections, plugins: g.allocPlugins },
    reserved: g.reserved,
    priority: g.priority,
    held: info.held,
    pending: pendingPoints({ ...g, revoked: g.revokedAt !== null }, info.held),
    usage:
      g.usageReportedAt && g.usageTags !== null && g.usageConnections !== null
        ? { tags: g.usageTags, connections: g.usageConnections, reportedAt: g.usageReportedAt.toISOString() }
        : null,
    lease: l
      ? {
          jti: l.id,
          seq: l.seq,
          state: l.state === 'issued' || l.state === 'acknowledged' ? (l.expiresAt.getTime() <= now ? 'expired' : l.state) : l.state,
          points: { tags: l.tags, connections: l.connections },
          plugins: l.plugins,
          issuedAt: l.issuedAt.toISOString(),
          expiresAt: l.expiresAt.toISOString(),
          secondsLeft:
            l.state === 'issued' || l.state === 'acknowledged' ? Math.max(0, Math.floor((l.expiresAt.getTime() - now) / 1000)) : 0,
        }
      : null,
  };
}

/**
 * A hardware id with the activation code is enough to ask for a gateway's enrollment, so only
 * operators and admins see it in full; viewers see a prefix that tells gateways apart.
 */
export function hardwareIdFor(actor: Actor, hardwareId: string): string {
  return hasRole(actor, 'operator') ? hardwareId : `${hardwareId.slice(0, 6)}…`;
}

export function gatewayViewFor<V extends { hardwareId: string }>(actor: Actor, view: V): V {
  return hasRole(actor, 'operator') ? view : { ...view, hardwareId: hardwareIdFor(actor, view.hardwareId) };
}
