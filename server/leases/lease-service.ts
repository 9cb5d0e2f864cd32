import crypto from 'node:crypto';
import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import type { LeaseGrant } from '../../shared/protocol/rest.js';
import { auditStore, type AuditEntry } from '../audit/audit-store.js';
import { actorLabel, systemActor, type Actor } from '../auth/actor.js';
import type { Db, Tx } from '../db/database.js';
import { AppError, notFound } from '../errors/app-error.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import type { EventBus } from '../events/event-bus.js';
import { poolStore } from '../pools/pool-store.js';
import { leaseStore, type EndedLease } from './lease-store.js';

export interface LeaseSigner {
  /** Signs the claims with the current key; returns the compact JWS and the key id used. */
  signWithKid(claims: LeaseClaims): Promise<{ jws: string; kid: string }>;
}

export type GrantReason = 'grant' | 'renewal' | 'push';

/** Hooks for metrics; every method is optional to implement. */
export interface LeaseObserver {
  issued?(reason: GrantReason, seconds: number): void;
  /** Duration of one database transaction of the lease engine. */
  transaction?(operation: 'grant' | 'acknowledge' | 'release' | 'presence' | 'sweep', seconds: number): void;
  ended?(state: 'released' | 'expired' | 'reclaimed' | 'superseded', leases: readonly EndedLease[]): void;
}

export interface LeaseServiceOptions {
  issuer: string;
  audience: string;
  events?: EventBus;
  now?: () => number;
  observer?: LeaseObserver;
}

const toSec = (ms: number) => Math.floor(ms / 1000);

/**
 * Issues, renews, acknowledges and releases leases. Transports (MQTT, Socket.IO, HTTP pull) call
 * these plain functions; none of them knows about the others.
 */
export class LeaseService {
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly signer: LeaseSigner,
    private readonly opts: LeaseServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * A fresh lease for the gateway's current allocation. Idempotent per gateway: a new lease never
   * holds more than the allocation, which the pool already counts, so reconnects take nothing extra.
   */
  async grant(gatewayId: string, reason: GrantReason): Promise<LeaseGrant> {
    const started = performance.now();
    const grant = await this.tx('grant', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) throw notFound('gateway', gatewayId);
      if (g.revokedAt) throw new AppError('unauthorized', `gateway ${gatewayId} is decommissioned`);
      const pool = await poolStore.get(tx, g.poolId);
      if (!pool) throw notFound('pool', g.poolId);
      const nowMs = this.now();
      if (!pool.licenseExpiresAt) throw new AppError('license-expired', `pool ${pool.name} has no license; no leases are granted`);
      if (pool.licenseExpiresAt.getTime() <= nowMs) {
        throw new AppError('license-expired', `pool ${pool.name}'s license expired at ${pool.licenseExpiresAt.toISOString()}; leases are not renewed`);
      }
      const seq = g.leaseSeq + 1;
      const iat = toSec(nowMs);
      // A lease never outlives the pool license that backs it.
      const exp = Math.min(iat + pool.leaseTtlSeconds, toSec(pool.licenseExpiresAt.getTime()));
      const claims: LeaseClaims = {
        iss: this.opts.issuer,
        sub: g.id,
        aud: this.opts.audience,
        jti: crypto.randomUUID(),
        iat,
        nbf: iat,
        exp,
        seq,
        pool: pool.id,
        hwid: g.hardwareId,
        points: { tags: g.allocTags, connections: g.allocConnections },
        plugins: g.allocPlugins.filter((p) => pool.plugins.includes(p)),
        licenseExpiresAt: toSec(pool.licenseExpiresAt.getTime()),
        ttl: exp - iat,
      };
      const { jws: token, kid } = await this.signer.signWithKid(claims);
      await leaseStore.insert(tx, {
        id: claims.jti,
        gatewayId: g.id,
        poolId: pool.id,
        seq,
        kid,
        tags: claims.points.tags,
        connections: claims.points.connections,
        plugins: claims.plugins,
        issuedAt: new Date(iat * 1000),
        expiresAt: new Date(exp * 1000),
      });
      await gatewayStore.update(tx, g.id, { leaseSeq: seq, lastSeenAt: new Date(nowMs) });
      await auditStore.append(tx, [
        {
          actor: reason === 'push' ? 'system:push' : actorLabel({ kind: 'gateway', gatewayId: g.id, poolId: pool.id }),
          action: reason === 'renewal' ? 'lease.renewed' : 'lease.granted',
          poolId: pool.id,
          gatewayId: g.id,
          subject: claims.jti,
          after: { seq, points: claims.points, plugins: claims.plugins, exp, reason },
        },
      ]);
      return { lease: token, jti: claims.jti, seq, expiresAt: exp, ttl: claims.ttl };
    });
    this.opts.observer?.issued?.(reason, (performance.now() - started) / 1000);
    return grant;
  }

  /** The agent accepted lease `jti`: older leases stop counting and their extra points return. */
  async acknowledge(gatewayId: string, jti: string): Promise<{ acknowledged: boolean }> {
    const superseded = await this.tx('acknowledge', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) throw notFound('gateway', gatewayId);
      const lease = await leaseStore.get(tx, gatewayId, jti);
      if (!lease) throw notFound('lease', jti);
      if (lease.state !== 'issued' && lease.state !== 'acknowledged') return undefined;
      if (lease.expiresAt.getTime() <= this.now()) return undefined;
      if (lease.state === 'issued') await leaseStore.acknowledge(tx, jti);
      const ended = await leaseStore.supersedeOlder(tx, gatewayId, lease.seq);
      const returned = ended.filter((e) => e.tags > lease.tags || e.connections > lease.connections);
      if (returned.length) {
        await auditStore.append(tx, [
          {
            actor: actorLabel({ kind: 'gateway', gatewayId, poolId: g.poolId }),
            action: 'lease.superseded',
            poolId: g.poolId,
            gatewayId,
            subject: jti,
            before: returned.map((e) => ({ jti: e.id, tags: e.tags, connections: e.connections })),
            after: { tags: lease.tags, connections: lease.connections },
          },
        ]);
      }
      return ended;
    });
    if (superseded?.length) this.opts.observer?.ended?.('superseded', superseded);
    return { acknowledged: superseded !== undefined };
  }

  /** A clean stop: every live lease of the gateway ends now and its points return at once. */
  async release(gatewayId: string, actor: Actor): Promise<{ released: number }> {
    const ended = await this.tx('release', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) throw notFound('gateway', gatewayId);
      return this.endLeases(tx, g.id, g.poolId, 'released', actorLabel(actor));
    });
    if (ended.length) this.opts.observer?.ended?.('released', ended);
    return { released: ended.length };
  }

  /** Presence from the transports; a pool with `reclaim: on-disconnect` takes the points back at once. */
  async setPresence(gatewayId: string, online: boolean, transport: string | null): Promise<void> {
    let changed: { poolId: string } | undefined;
    const ended = await this.tx('presence', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) return [];
      // An agent that failed over: a late "offline" from the transport it left says nothing.
      if (!online && g.online && transport !== null && g.transport !== null && g.transport !== transport) return [];
      if (g.online !== online || (online && g.transport !== transport)) {
        changed = { poolId: g.poolId };
        await gatewayStore.update(tx, gatewayId, { online, transport: online ? transport : g.transport, presenceChangedAt: new Date(), lastSeenAt: new Date() });
        await auditStore.append(tx, [
          { actor: 'system:presence', action: online ? 'gateway.online' : 'gateway.offline', poolId: g.poolId, gatewayId, subject: g.name, after: { transport } },
        ]);
      }
      if (online) return [];
      const pool = await poolStore.get(tx, g.poolId);
      if (pool?.reclaim !== 'on-disconnect') return [];
      return this.endLeases(tx, gatewayId, g.poolId, 'reclaimed', 'system:reclaim');
    });
    if (changed) this.opts.events?.emit('gateway.presence', { gatewayId, poolId: changed.poolId, online, transport });
    if (ended.length) this.opts.observer?.ended?.('reclaimed', ended);
  }

  /** Ends leases past their expiry; safe to run on every replica at once. Returns how many ended. */
  async sweep(batch = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const ended = await this.tx('sweep', async (tx) => {
        const rows = await leaseStore.expireDue(tx, batch);
        await auditStore.append(
          tx,
          rows.map(
            (r): AuditEntry => ({
              actor: actorLabel(systemActor('sweeper')),
              action: 'lease.expired',
              poolId: r.poolId,
              gatewayId: r.gatewayId,
              subject: r.id,
              before: { seq: r.seq, tags: r.tags, connections: r.connections },
            }),
          ),
        );
        return rows;
      });
      total += ended.length;
      if (ended.length) this.opts.observer?.ended?.('expired', ended);
      if (ended.length < batch) return total;
    }
  }

  /** Runs one transaction and reports its duration. */
  private async tx<T>(operation: Parameters<NonNullable<LeaseObserver['transaction']>>[0], fn: (tx: Tx) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await this.db.transaction(fn);
    } finally {
      this.opts.observer?.transaction?.(operation, (performance.now() - started) / 1000);
    }
  }

  private async endLeases(tx: Tx, gatewayId: string, poolId: string, state: 'released' | 'reclaimed', actor: string): Promise<EndedLease[]> {
    const ended = await leaseStore.endLive(tx, gatewayId, state);
    if (ended.length) {
      await auditStore.append(tx, [
        {
          actor,
          action: state === 'released' ? 'lease.released' : 'lease.reclaimed',
          poolId,
          gatewayId,
          subject: ended.map((e) => e.id).join(','),
          before: { leases: ended.length, tags: Math.max(...ended.map((e) => e.tags)), connections: Math.max(...ended.map((e) => e.connections)) },
        },
      ]);
    }
    return ended;
  }
}
