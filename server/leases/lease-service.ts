import { decodeProtectedHeader } from 'jose';
import type { KeySetDocument } from '../../shared/protocol/key-set.js';
import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import type { LeaseGrant } from '../../shared/protocol/rest.js';
import { actorLabel, type Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import { AppError, notFound } from '../errors/app-error.js';
import type { TransactionSql } from 'postgres';
import { BatchQueue, failed, succeeded, type Outcome } from '../db/batch-queue.js';
import { retryOnKeepGuard } from './keep-guard.js';
import { runGrantBatch, type GrantBatchDeps, type GrantReason, type GrantRequest } from './grant-batch.js';
import { leaseBatchStore, type AckRequest, type AckResult } from './lease-batch-store.js';
import type { EndedLease } from './lease-store.js';
import { runBorrow } from './borrow.js';
import { isUuid } from '../../shared/protocol/uuid.js';
import { LANES, type ConnectionLanes } from '../db/connection-budget.js';

export interface LeaseSigner {
  /** Signs the claims with the current key; returns the compact JWS and the key id used. */
  signWithKid(claims: LeaseClaims): Promise<{ jws: string; kid: string }>;
}

export type { GrantReason } from './grant-batch.js';

/** Hooks for metrics; every method is optional to implement. */
export interface LeaseObserver {
  issued?(reason: GrantReason, seconds: number): void;
  /** Duration of one database transaction of the lease engine. */
  transaction?(operation: 'grant' | 'acknowledge' | 'release' | 'presence' | 'sweep', seconds: number): void;
  ended?(state: 'released' | 'expired' | 'reclaimed' | 'superseded', leases: readonly EndedLease[]): void;
  /** A grant in an over-committed pool was rolled back at commit: a kept lease expired meanwhile. */
  keepRefused?(): void;
  /** What became of one push (a fresh lease sent unasked after a change). */
  pushed?(outcome: PushOutcome): void;
}

/**
 * delivered: a transport took the lease (MQTT: the broker accepted it; Socket.IO: the agent
 * accepted it); undelivered: no transport reached the agent; skipped: no lease was due (offline,
 * decommissioned, no license); failed: an unexpected error.
 */
export type PushOutcome = 'delivered' | 'undelivered' | 'skipped' | 'failed';

export interface LeaseServiceOptions {
  issuer: string;
  audience: string;
  now?: () => number;
  observer?: LeaseObserver;
  /** Tests only: a replacement grant policy (the invariant tests show a broken one is caught). */
  grantPolicy?: GrantBatchDeps['plan'];
  /** Grants and acknowledgements are batched: at most `maxBatch` per transaction, `lanes` transactions at once (tests). */
  batch?: { maxBatch?: number; lanes?: number };
  /** This service's lanes of the connection budget (server/db/connection-budget.ts). */
  lanes?: Pick<ConnectionLanes, 'leaseGrants' | 'leaseAcks'>;
  /** The longest offline license file an operator may issue (seconds); 7 days by default. */
  offlineMaxSeconds?: number;
  /** The vouched key set to send with a lease signed by `kid` (FreshKeyAnnouncer), if any. */
  keySetFor?: (kid: string) => Promise<KeySetDocument | undefined>;
}

export const DEFAULT_OFFLINE_MAX_SECONDS = 7 * 24 * 3600;

/** Only a push comes back without a lease (its gateway is offline); any other grant gets one or an error. */
function leaseOf(grant: LeaseGrant | undefined): LeaseGrant {
  if (!grant) throw new AppError('internal', 'a grant that is not a push came back without a lease');
  return grant;
}

/**
 * Issues, renews and acknowledges leases: the grant and acknowledgement batches, offline license
 * files and borrows. How leases end otherwise (release, expiry, reclaim) is LeaseEndings; presence
 * is PresenceService. Transports reach all three through AgentHandler.
 */
export class LeaseService {
  private readonly now: () => number;
  private readonly grants: BatchQueue<GrantRequest, LeaseGrant | undefined>;
  private readonly acks: BatchQueue<AckRequest, { acknowledged: boolean }>;
  private freedListener: (poolId: string) => void = () => {};

  constructor(
    private readonly db: Db,
    private readonly signer: LeaseSigner,
    private readonly opts: LeaseServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
    const lanes = opts.lanes ?? LANES;
    const maxBatch = opts.batch?.maxBatch ?? 128;
    this.grants = new BatchQueue((b) => this.grantBatch(b), { maxBatch, lanes: opts.batch?.lanes ?? lanes.leaseGrants, key: (r) => r.gatewayId });
    this.acks = new BatchQueue((b) => this.ackBatch(b), { maxBatch, lanes: opts.batch?.lanes ?? lanes.leaseAcks, key: (r) => r.gatewayId });
  }

  /**
   * A fresh lease for the gateway's current allocation. Idempotent per gateway: a new lease never
   * holds more than the allocation, which the pool already counts, so reconnects take nothing extra.
   * Concurrent calls are granted together, one transaction per batch (see BatchQueue).
   */
  async grant(gatewayId: string, reason: GrantReason): Promise<LeaseGrant> {
    return leaseOf(await this.grants.submit({ gatewayId, reason, onlyOnline: false, started: performance.now() }));
  }

  /**
   * An offline license file for the gateway's hardware (the borrowing lease class): a lease like any
   * other (same grant policy, so the invariant holds), living `ttlSec` (capped by the pool license),
   * with no disconnect grace. It is a live lease row, so its points stay held until it expires or the
   * agent acknowledges a later lease. Audited as lease.offline-issued.
   */
  async issueOffline(gatewayId: string, ttlSec: number, actor: Actor): Promise<LeaseGrant> {
    const max = this.opts.offlineMaxSeconds ?? DEFAULT_OFFLINE_MAX_SECONDS;
    if (!Number.isInteger(ttlSec) || ttlSec < 60 || ttlSec > max) {
      throw new AppError('validation-failed', `ttlSeconds must be a whole number from 60 to ${max} (the longest offline license this controller issues)`);
    }
    return leaseOf(await this.grants.submit({ gatewayId, reason: 'offline', onlyOnline: false, started: performance.now(), offline: { ttlSec, actor: actorLabel(actor) } }));
  }

  /**
   * An offline borrow for a planned disconnect (issue 21): the points the gateway holds, kept for
   * `durationSec` within the pool's caps. It returns when the agent acknowledges a later lease
   * (asked for on reconnect: the early return) or when it expires.
   */
  async borrow(gatewayId: string, durationSec: number): Promise<LeaseGrant> {
    if (!isUuid(gatewayId)) throw notFound('gateway', gatewayId);
    const deps = { issuer: this.opts.issuer, audience: this.opts.audience, now: this.now, sign: (c: LeaseClaims) => this.signer.signWithKid(c) };
    const outcome = await this.keepGuarded(() => this.rawTx('grant', (tx) => runBorrow(tx, gatewayId, durationSec, deps)));
    if (!outcome.ok) throw outcome.error;
    return leaseOf(outcome.value);
  }

  /** A pushed lease for an online gateway; undefined when it is offline (it gets one when it reconnects). */
  pushGrant(gatewayId: string): Promise<LeaseGrant | undefined> {
    return this.grants.submit({ gatewayId, reason: 'push', onlyOnline: true, started: performance.now() });
  }

  /** The agent accepted lease `jti`: older leases stop counting and their extra points return. */
  acknowledge(gatewayId: string, jti: string): Promise<{ acknowledged: boolean }> {
    // Not a uuid cannot name a lease; answering here keeps a bad id out of the batch's casts.
    if (!isUuid(gatewayId)) return Promise.reject(notFound('gateway', gatewayId));
    if (!isUuid(jti)) return Promise.reject(notFound('lease', jti));
    return this.acks.submit({ gatewayId, jti });
  }

  /** Called after a commit that returned points to a pool (the lease pusher serves who waits). */
  onPointsFreed(listener: (poolId: string) => void): void {
    this.freedListener = listener;
  }

  private pointsFreed(ended: readonly { poolId: string }[]): void {
    for (const poolId of new Set(ended.map((e) => e.poolId))) this.freedListener(poolId);
  }

  /** Settles waiting grants and acknowledgements (shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.all([this.grants.idle(), this.acks.idle()]);
  }

  private async grantBatch(requests: readonly GrantRequest[]): Promise<Outcome<LeaseGrant | undefined>[]> {
    const outcomes = new Map<string, Outcome<LeaseGrant | undefined>>();
    const valid = requests.filter((r) => {
      if (isUuid(r.gatewayId)) return true;
      outcomes.set(r.gatewayId, failed(notFound('gateway', r.gatewayId)));
      return false;
    });
    let issued: GrantRequest[] = [];
    if (valid.length) {
      const deps = {
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        now: this.now,
        sign: (c: LeaseClaims) => this.signer.signWithKid(c),
        ...(this.opts.grantPolicy ? { plan: this.opts.grantPolicy } : {}),
      };
      issued = await this.keepGuarded(() => {
        // A run refused at commit left outcomes of leases that were never committed.
        for (const r of valid) outcomes.delete(r.gatewayId);
        return this.rawTx('grant', (tx) => runGrantBatch(tx, valid, deps, outcomes));
      });
    }
    if (this.opts.keySetFor && issued.length) await this.attachKeySets(outcomes, this.opts.keySetFor);
    // Only after the commit: a lease counts as issued once it is durable.
    const done = performance.now();
    for (const r of issued) this.opts.observer?.issued?.(r.reason, (done - r.started) / 1000);
    return requests.map((r) => outcomes.get(r.gatewayId)!);
  }

  /** After the commit (no lookup while pool rows are locked): the key set rides with leases of a new key. */
  private async attachKeySets(outcomes: Map<string, Outcome<LeaseGrant | undefined>>, keySetFor: (kid: string) => Promise<KeySetDocument | undefined>): Promise<void> {
    const byKid = new Map<string, Promise<KeySetDocument | undefined>>();
    for (const [gatewayId, o] of outcomes) {
      if (!o.ok || !o.value) continue;
      const kid = decodeProtectedHeader(o.value.lease).kid;
      if (typeof kid !== 'string') continue;
      // keySetFor never rejects (FreshKeyAnnouncer logs a failure and sends no set: the agent fetches it).
      if (!byKid.has(kid)) byKid.set(kid, keySetFor(kid));
      const keySet = await byKid.get(kid);
      if (keySet) outcomes.set(gatewayId, succeeded({ ...o.value, keySet }));
    }
  }

  private async ackBatch(requests: readonly AckRequest[]): Promise<Outcome<{ acknowledged: boolean }>[]> {
    const { existing, result, found, returned } = await this.rawTx('acknowledge', async (tx) => {
      const existing = await leaseBatchStore.lockGateways(tx, requests.map((r) => r.gatewayId));
      const result = await leaseBatchStore.acknowledge(
        tx,
        requests.filter((r) => existing.has(r.gatewayId)),
        this.now(),
      );
      const found = new Map(result.found.map((f) => [f.id, f]));
      // The points of a larger lease came back: that is worth an audit row per acknowledged lease.
      const returned = new Map<string, { by: AckResult['found'][number]; ended: EndedLease[] }>();
      for (const s of result.superseded) {
        const by = found.get(s.by);
        if (!by || (s.tags <= by.tags && s.connections <= by.connections)) continue;
        const entry = returned.get(s.by) ?? { by, ended: [] };
        entry.ended.push(s);
        returned.set(s.by, entry);
      }
      await leaseBatchStore.appendAudit(
        tx,
        [...returned].map(([jti, { by, ended }]) => ({
          actor: actorLabel({ kind: 'gateway', gatewayId: by.gatewayId, poolId: by.poolId }),
          action: 'lease.superseded',
          poolId: by.poolId,
          gatewayId: by.gatewayId,
          subject: jti,
          before: ended.map((e) => ({ jti: e.id, tags: e.tags, connections: e.connections })),
          after: { tags: by.tags, connections: by.connections },
        })),
      );
      return { existing, result, found, returned };
    });
    if (result.superseded.length) this.opts.observer?.ended?.('superseded', result.superseded);
    // A larger lease that stopped counting returned points.
    this.pointsFreed([...returned.values()].flatMap((r) => r.ended));
    return requests.map((r) => {
      if (!existing.has(r.gatewayId)) return failed(notFound('gateway', r.gatewayId));
      const f = found.get(r.jti);
      // Another gateway's lease is no lease of this one (a batch may hold both requests).
      if (!f || f.gatewayId !== r.gatewayId) return failed(notFound('lease', r.jti));
      return succeeded({ acknowledged: f.live });
    });
  }

  /** The batch paths run on postgres.js directly: no query building per lease. */
  /** A grant transaction the keep guard refused at commit runs again on a later clock (keep-guard.ts). */
  private keepGuarded<T>(run: () => Promise<T>): Promise<T> {
    return retryOnKeepGuard(run, () => this.opts.observer?.keepRefused?.());
  }

  private async rawTx<T>(operation: 'grant' | 'acknowledge', fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return (await this.db.$client.begin(fn)) as T;
    } finally {
      this.opts.observer?.transaction?.(operation, (performance.now() - started) / 1000);
    }
  }
}
