import type { LicenseFileLoaded } from '../../shared/protocol/rest.js';
import { isUuid } from '../../shared/protocol/uuid.js';
import { auditStore } from '../audit/audit-store.js';
import { actorLabel } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import { notFound } from '../errors/app-error.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import { leaseStore } from './lease-store.js';

const OFFLINE_LOADED = 'lease.offline-loaded';
const OFFLINE_ISSUED = 'lease.offline-issued';

/**
 * Offline license files loaded at a device (issue 17): the controller issued the file
 * (`lease.offline-issued`); the agent reports loading it, at once or at its next contact, and the
 * load gets its own audit row, once per file. Only a lease the controller issued to the reporting
 * gateway can be reported: the row's seq, exp and points come from the controller's lease row, not
 * from the agent.
 */
export class LicenseFileService {
  constructor(private readonly db: Db) {}

  async recordLoaded(gatewayId: string, report: LicenseFileLoaded): Promise<{ recorded: boolean }> {
    if (!isUuid(report.jti)) throw notFound('lease', report.jti);
    return this.db.transaction(async (tx) => {
      // The gateway row lock serialises two reports of one load (a retry racing the first).
      const gateway = await gatewayStore.lock(tx, gatewayId);
      if (!gateway) throw notFound('gateway', gatewayId);
      const lease = await leaseStore.findForGateway(tx, gatewayId, report.jti);
      if (!lease) throw notFound('lease', report.jti);
      if (await auditStore.exists(tx, { gatewayId, action: OFFLINE_LOADED, subject: report.jti })) return { recorded: false };
      const issuedAsFile = await auditStore.exists(tx, { gatewayId, action: OFFLINE_ISSUED, subject: report.jti });
      await auditStore.append(tx, [
        {
          actor: actorLabel({ kind: 'gateway', gatewayId, poolId: lease.poolId }),
          action: OFFLINE_LOADED,
          poolId: lease.poolId,
          gatewayId,
          subject: report.jti,
          after: {
            seq: lease.seq,
            exp: Math.floor(lease.expiresAt.getTime() / 1000),
            points: { tags: lease.tags, connections: lease.connections },
            loadedAt: report.loadedAt,
            issuedAsFile,
            // Reported after the lease ended (superseded, expired): a late report of an earlier load.
            live: lease.endedAt === null && lease.expiresAt.getTime() > Date.now(),
          },
        },
      ]);
      return { recorded: true };
    });
  }
}
