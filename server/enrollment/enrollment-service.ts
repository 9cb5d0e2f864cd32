import { sql } from 'drizzle-orm';
import crypto from 'node:crypto';
import type { ActivationCodeView, EnrollResponse } from '../../shared/protocol/rest.js';
import { auditStore } from '../audit/audit-store.js';
import { actorLabel, type Actor } from '../auth/actor.js';
import { ACTIVATION_CODE_PREFIX, hashesEqual, hashSecret, newGatewayCredential } from '../auth/secrets.js';
import type { Tx } from '../db/database.js';
import type { Db } from '../db/database.js';
import { AppError, notFound } from '../errors/app-error.js';
import { BINDING_RESET, gatewayStore, type GatewayRow } from '../gateways/gateway-store.js';
import { gatewayView } from '../gateways/gateway-view.js';
import type { ChangeNotifier } from '../leases/change-notifier.js';
import { noCredentialSink, type CredentialSink } from '../mqtt/dynsec-provisioner.js';
import { poolStore } from '../pools/pool-store.js';
import { activationCodeStore, type ActivationCodeRow } from './activation-code-store.js';
import { bindingFor } from './hardware-binding.js';

// Crockford base32: no I, L, O, U, so codes survive being read aloud or typed.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** 20 base32 characters (100 bits) in groups of four: FLAC-XXXX-XXXX-XXXX-XXXX-XXXX. */
function newActivationCode(): string {
  const bytes = crypto.randomBytes(20);
  const chars = [...bytes].map((b) => ALPHABET[b & 31]).join('');
  return ACTIVATION_CODE_PREFIX + chars.match(/.{4}/g)!.join('-');
}

/** Case, spaces and dashes do not matter when a person types a code. */
function normaliseActivationCode(code: string): string {
  const body = code.toUpperCase().replace(/[\s-]/g, '').replace(/^FLAC/, '');
  return ACTIVATION_CODE_PREFIX + (body.match(/.{1,4}/g) ?? []).join('-');
}

function activationCodeView(c: ActivationCodeRow, seatsUsed: number): ActivationCodeView {
  return {
    id: c.id,
    poolId: c.poolId,
    codePrefix: c.codePrefix,
    label: c.label,
    seats: c.seats,
    seatsUsed,
    expiresAt: c.expiresAt?.toISOString() ?? null,
    revokedAt: c.revokedAt?.toISOString() ?? null,
    createdBy: c.createdBy,
    createdAt: c.createdAt.toISOString(),
  };
}

export interface LeaseIdentity {
  issuer: string;
  audience: string;
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
}

export class EnrollmentService {
  constructor(
    private readonly db: Db,
    private readonly identity: LeaseIdentity,
    private readonly notifier: ChangeNotifier,
    private readonly credentials: CredentialSink = noCredentialSink,
  ) {}

  async createCode(poolId: string, input: { seats: number; expiresAt?: Date | undefined; label?: string | undefined }, actor: Actor) {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new AppError('validation-failed', 'body.expiresAt: must be in the future', { errors: [{ path: 'body.expiresAt', message: 'must be in the future' }] });
    }
    const code = newActivationCode();
    const row = await this.db.transaction(async (tx) => {
      if (!(await poolStore.get(tx, poolId))) throw notFound('pool', poolId);
      const created = await activationCodeStore.insert(tx, {
        poolId,
        codeHash: hashSecret(code),
        codePrefix: code.slice(0, 9),
        label: input.label ?? '',
        seats: input.seats,
        expiresAt: input.expiresAt ?? null,
        createdBy: actorLabel(actor),
      });
      await auditStore.append(tx, [
        { actor: actorLabel(actor), action: 'activation-code.created', poolId, subject: created.codePrefix, after: { id: created.id, seats: created.seats, expiresAt: created.expiresAt, label: created.label } },
      ]);
      return created;
    });
    return { ...activationCodeView(row, 0), code };
  }

  async listCodes(poolId: string): Promise<ActivationCodeView[]> {
    if (!(await poolStore.get(this.db, poolId))) throw notFound('pool', poolId);
    return (await activationCodeStore.listForPool(this.db, poolId)).map((c) => activationCodeView(c, c.seatsUsed));
  }

  async revokeCode(id: string, actor: Actor): Promise<ActivationCodeView> {
    return this.db.transaction(async (tx) => {
      // Locked: of two concurrent revocations one waits, then sees the first.
      await tx.execute(sql`select 1 from activation_codes where id = ${id} for update`);
      const existing = await activationCodeStore.get(tx, id);
      if (!existing) throw notFound('activation code', id);
      // Revoking twice is a mistake worth saying (and is audited once, not twice).
      if (existing.revokedAt) throw new AppError('conflict', `activation code ${existing.codePrefix}… was already revoked at ${existing.revokedAt.toISOString()}`);
      const row = await activationCodeStore.revoke(tx, id);
      if (!row) throw notFound('activation code', id);
      await auditStore.append(tx, [{ actor: actorLabel(actor), action: 'activation-code.revoked', poolId: row.poolId, subject: row.codePrefix, after: { id } }]);
      return activationCodeView(row, await activationCodeStore.seatsUsed(tx, id));
    });
  }

  /** The gateways holding the code's seats. */
  async seats(id: string) {
    const code = await activationCodeStore.get(this.db, id);
    if (!code) throw notFound('activation code', id);
    const gws = await gatewayStore.listByCode(this.db, id);
    const info = await gatewayStore.leaseInfoMany(this.db, gws.map((g) => g.id));
    return gws.filter((g) => !g.revokedAt).map((g) => gatewayView(g, info.get(g.id)!));
  }

  /**
   * Binds a gateway to `hardwareId`. The same hardware gets the same gateway back whatever code of
   * its pool it uses, with a fresh credential (the old one stops working) and no second seat; a code
   * of another pool moves it there once its points in the old pool are released (hardware-binding.ts).
   */
  async enroll(
    input: { activationCode: string; hardwareId: string; name?: string | undefined; agentVersion?: string | undefined; currentCredential?: string | undefined },
    source: string,
  ): Promise<EnrollResponse> {
    const codeHash = hashSecret(normaliseActivationCode(input.activationCode));
    const result = await this.db.transaction(async (tx) => {
      const code = await activationCodeStore.lockByHash(tx, codeHash);
      if (!code) throw new AppError('activation-code-unknown', 'no such activation code');
      if (code.revokedAt) throw new AppError('activation-code-revoked', `activation code ${code.codePrefix}… was revoked`);
      if (code.expiresAt && code.expiresAt.getTime() <= Date.now()) {
        throw new AppError('activation-code-expired', `activation code ${code.codePrefix}… expired at ${code.expiresAt.toISOString()}`);
      }
      let existing = await gatewayStore.findByCodeAndHardware(tx, code.id, input.hardwareId);
      if (existing?.revokedAt) {
        throw new AppError('conflict', `gateway ${existing.id} was decommissioned; an administrator must restore it (POST /api/v1/gateways/${existing.id}/restore) before it can enroll again`, { gatewayId: existing.id });
      }
      const binding = existing ? ({ kind: 'none' } as const) : await bindingFor(tx, code, input.hardwareId);
      if (binding.kind === 'release-first') return { pending: binding } as const;
      if (binding.kind === 'rebind') existing = binding.gateway;
      const moving = binding.kind === 'move' ? binding : undefined;
      if (moving) existing = moving.gateway;
      // Whatever code it uses, re-binding a gateway that is in use needs its current credential.
      if (existing) await refuseTakeover(tx, existing, input.currentCredential);
      if (!existing || existing.revokedAt || moving) {
        const used = await activationCodeStore.seatsUsed(tx, code.id);
        if (used >= code.seats) {
          throw new AppError('activation-code-exhausted', `activation code ${code.codePrefix}… has no free seat (${used} of ${code.seats} in use)`, { seats: code.seats, seatsUsed: used });
        }
      }
      const id = existing?.id ?? crypto.randomUUID();
      const credential = newGatewayCredential(id);
      let gateway: GatewayRow;
      if (existing) {
        gateway = await gatewayStore.update(tx, id, {
          credentialHash: hashSecret(credential),
          credentialIssuedAt: new Date(),
          revokedAt: null,
          // A move: the gateway joins the code's pool with nothing allocated; an admin allocates there.
          ...(moving ? { poolId: code.poolId, activationCodeId: code.id, allocTags: 0, allocConnections: 0, allocPlugins: [], allocUpdatedAt: new Date() } : {}),
          ...(input.name ? { name: input.name } : {}),
          ...(input.agentVersion ? { agentVersion: input.agentVersion } : {}),
        });
      } else {
        gateway = await gatewayStore.insert(tx, {
          id,
          poolId: code.poolId,
          activationCodeId: code.id,
          name: input.name ?? `gw-${input.hardwareId.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toLowerCase()}`,
          hardwareId: input.hardwareId,
          credentialHash: hashSecret(credential),
          agentVersion: input.agentVersion ?? null,
        });
      }
      const actor: Actor = { kind: 'gateway', gatewayId: id, poolId: code.poolId };
      await auditStore.append(tx, [
        {
          actor: actorLabel(actor),
          action: moving ? 'gateway.moved' : existing ? 'gateway.reenrolled' : 'gateway.enrolled',
          poolId: code.poolId,
          gatewayId: id,
          subject: gateway.name,
          ...(moving ? { before: { poolId: moving.fromPoolId, activationCodeId: moving.gateway.activationCodeId } } : {}),
          after: {
            hardwareId: input.hardwareId,
            code: code.codePrefix,
            source,
            ...(moving ? { poolId: code.poolId } : {}),
            ...(existing ? { proof: input.currentCredential ? 'credential' : existing.credentialHash === BINDING_RESET ? 'admin-reset' : 'idle' } : {}),
          },
        },
      ]);
      return { gateway, credential, reenrolled: existing !== undefined };
    });
    if ('pending' in result && result.pending) {
      // Committed: the old pool no longer allocates to it; its live lease must end before the move.
      this.notifier.gatewayChanged(result.pending.gateway.id);
      throw new AppError(
        'conflict',
        `this hardware is enrolled as gateway ${result.pending.gateway.name} in another pool and still holds points there; ` +
          `they are being released (allocation set to 0), and the gateway moves once its lease ends: enroll again in ${result.pending.retryAfterSeconds} s`,
        { gatewayId: result.pending.gateway.id, fromPoolId: result.pending.fromPoolId, retryAfterSeconds: result.pending.retryAfterSeconds },
      );
    }
    // The broker must know the credential before the agent connects with it.
    await this.credentials.issued(result.gateway.id, result.credential).catch((err: unknown) => {
      throw new AppError('unavailable', `the MQTT broker did not accept the gateway's credential; enroll again (${(err as Error).message})`);
    });
    if (result.reenrolled) this.notifier.gatewayChanged(result.gateway.id);
    return {
      gatewayId: result.gateway.id,
      poolId: result.gateway.poolId,
      name: result.gateway.name,
      credential: result.credential,
      reenrolled: result.reenrolled,
      lease: { issuer: this.identity.issuer, audience: this.identity.audience },
      jwks: await this.identity.jwks(),
    };
  }
}

/**
 * Re-enrolling replaces the gateway's credential. Anyone with the code and the hardware id could
 * do that, so a gateway that is live (online, or holding an unexpired lease) is re-bound only by
 * whoever proves possession of its current credential, or after an administrator reset the binding.
 */
async function refuseTakeover(tx: Tx, g: GatewayRow, currentCredential: string | undefined): Promise<void> {
  if (currentCredential !== undefined) {
    if (g.credentialHash.length === 64 && hashesEqual(g.credentialHash, hashSecret(currentCredential))) return;
    throw new AppError('unauthorized', 'currentCredential is not this gateway\'s credential');
  }
  if (g.credentialHash === BINDING_RESET) return;
  if (g.online || (await gatewayStore.hasLiveLease(tx, g.id))) {
    throw new AppError(
      'conflict',
      `gateway ${g.id} is live (online or holding a lease); re-enrolling it needs its current credential (currentCredential) or an administrator's binding reset (POST /api/v1/gateways/${g.id}/reset-binding)`,
      { gatewayId: g.id },
    );
  }
}
