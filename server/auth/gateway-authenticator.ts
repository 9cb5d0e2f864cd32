import { BatchQueue, succeeded, type Outcome } from '../db/batch-queue.js';
import type { Db } from '../db/database.js';
import type { Actor } from './actor.js';
import { gatewayIdOfCredential, hashSecret, hashesEqual } from './secrets.js';
import { isUuid } from '../../shared/protocol/uuid.js';
import { LANES } from '../db/connection-budget.js';

interface CredentialRow {
  readonly id: string;
  readonly poolId: string;
  readonly credentialHash: string;
  readonly revoked: boolean;
}


/**
 * Checks agents' credentials (flg.<id>.<secret>) for the MQTT broker and the Socket.IO namespace.
 * In a reconnect storm thousands arrive at once; their rows are read together, one primary-key
 * query per batch, instead of one query each in front of the database pool.
 */
export class GatewayAuthenticator {
  private readonly rows: BatchQueue<string, CredentialRow | undefined>;

  constructor(db: Db, opts: { maxBatch?: number; lanes?: number } = {}) {
    this.rows = new BatchQueue(
      async (ids): Promise<Outcome<CredentialRow | undefined>[]> => {
        const found = await db.$client<{ id: string; pool_id: string; credential_hash: string; revoked: boolean }[]>`
          select id, pool_id, credential_hash, revoked_at is not null as revoked from "gateways" where id = any(${ids as string[]}::uuid[])`;
        const byId = new Map(found.map((r) => [r.id, { id: r.id, poolId: r.pool_id, credentialHash: r.credential_hash, revoked: r.revoked }]));
        return ids.map((id) => succeeded(byId.get(id)));
      },
      { maxBatch: opts.maxBatch ?? 256, lanes: opts.lanes ?? LANES.gatewayAuth, key: (id) => id },
    );
  }

  /** The gateway a credential belongs to, or undefined (unknown, wrong secret, decommissioned). */
  async authenticate(credential: string): Promise<Extract<Actor, { kind: 'gateway' }> | undefined> {
    const gatewayId = gatewayIdOfCredential(credential);
    if (!gatewayId || !isUuid(gatewayId)) return undefined;
    const g = await this.rows.submit(gatewayId);
    // Compare even for an unknown gateway, so a miss costs the same time as a wrong secret.
    const ok = hashesEqual(g && g.credentialHash.length === 64 ? g.credentialHash : '00', hashSecret(credential));
    if (!g || g.revoked || !ok) return undefined;
    return { kind: 'gateway', gatewayId: g.id, poolId: g.poolId };
  }
}
