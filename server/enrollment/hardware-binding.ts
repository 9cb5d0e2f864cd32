import { auditStore } from '../audit/audit-store.js';
import { actorLabel } from '../auth/actor.js';
import type { Tx } from '../db/database.js';
import { gatewayStore, type GatewayRow } from '../gateways/gateway-store.js';
import { poolStore } from '../pools/pool-store.js';
import type { ActivationCodeRow } from './activation-code-store.js';

/**
 * One gateway per hardware identifier on the whole controller, whatever code it activates with
 * (the seed: one license per hardware; the same device counts once however often it activates).
 *
 * - `rebind`: the hardware is enrolled in the code's pool (under any code): the same gateway, no seat.
 * - `move`: it is enrolled in another pool and holds no live points there: it moves to the code's pool.
 * - `release-first`: it still holds live lease points in the old pool. Its allocation there is set to
 *   0 now (so the old pool grants it nothing more) and the move waits until no live lease of the
 *   old pool remains; agents enforce a lease until it expires, so releasing earlier could let the
 *   old pool hand the same points to another gateway while this one still uses them.
 */
export type Binding =
  | { kind: 'none' }
  | { kind: 'rebind'; gateway: GatewayRow }
  | { kind: 'move'; gateway: GatewayRow; fromPoolId: string }
  | { kind: 'release-first'; gateway: GatewayRow; fromPoolId: string; retryAfterSeconds: number };

export async function bindingFor(tx: Tx, code: ActivationCodeRow, hardwareId: string): Promise<Binding> {
  const found = await gatewayStore.findLiveByHardware(tx, hardwareId);
  if (!found || found.activationCodeId === code.id) return { kind: 'none' };
  if (found.poolId === code.poolId) {
    const g = await gatewayStore.lock(tx, found.id);
    return g && !g.revokedAt ? { kind: 'rebind', gateway: g } : { kind: 'none' };
  }
  // Pools before gateways, in id order: the order setAllocation locks in, so no deadlock.
  for (const id of [found.poolId, code.poolId].sort()) await poolStore.lock(tx, id);
  const g = await gatewayStore.lock(tx, found.id);
  if (!g || g.revokedAt || g.poolId !== found.poolId) return { kind: 'none' };
  const info = await gatewayStore.leaseInfo(tx, g.id);
  const live = info.held.tags > 0 || info.held.connections > 0;
  if (!live) return { kind: 'move', gateway: g, fromPoolId: g.poolId };
  if (g.allocTags !== 0 || g.allocConnections !== 0 || g.allocPlugins.length) {
    await gatewayStore.update(tx, g.id, { allocTags: 0, allocConnections: 0, allocPlugins: [], allocUpdatedAt: new Date() });
    await auditStore.append(tx, [
      {
        actor: actorLabel({ kind: 'gateway', gatewayId: g.id, poolId: g.poolId }),
        action: 'gateway.move.releasing',
        poolId: g.poolId,
        gatewayId: g.id,
        subject: g.name,
        before: { tags: g.allocTags, connections: g.allocConnections, plugins: g.allocPlugins },
        after: { tags: 0, connections: 0, plugins: [], toPool: code.poolId, code: code.codePrefix },
      },
    ]);
  }
  const expires = info.latest?.expiresAt?.getTime() ?? Date.now();
  return { kind: 'release-first', gateway: g, fromPoolId: g.poolId, retryAfterSeconds: Math.max(1, Math.ceil((expires - Date.now()) / 1000)) };
}
