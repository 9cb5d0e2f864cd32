import { decodeProtectedHeader } from 'jose';
import type { KeySetDocument } from '../../shared/protocol/key-set.js';
import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import type { LeaseGrant } from '../../shared/protocol/rest.js';
import { auditStore, type AuditEntry } from '../audit/audit-store.js';
import { actorLabel, systemActor, type Actor } from '../auth/actor.js';
import type { Db, Tx } from '../db/database.js';
import { AppError, notFound } from '../errors/app-error.js';
import { gatewayStore } from '../gateways/gateway-store.js';
import type { EventBus } from '../events/event-bus.js';
import type { Sql, TransactionSql } from 'postgres';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { BatchQueue, failed, succeeded, type Outcome } from '../db/batch-queue.js';
import { retryOnKeepGuard } from './keep-guard.js';
import { runGrantBatch, type GrantBatchDeps, type GrantReason, type GrantRequest } from './grant-batch.js';
import { leaseBatchStore, type AckRequest } from './lease-batch-store.js';
import { leaseStore, type EndedLease } from './lease-store.js';
import { reclaimDisconnected } from './disconnect-reclaim.js';
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
  events?: EventBus;
  now?: () => number;
  observer?: LeaseObserver;
  /** Tests only: a replacement grant policy (the invariant tests show a broken one is caught). */
  grantPolicy?: GrantBatchDeps['plan'];
  /** Grants and acknowledgements are batched: at most `maxBatch` per transaction, `lanes` transactions at once (tests). */
  batch?: { maxBatch?: number; lanes?: number };
  /** This service's lanes of the connection budget (server/db/connection-budget.ts). */
  lanes?: Pick<ConnectionLanes, 'leaseGrants' | 'leaseAcks' | 'presence' | 'offline'>;
  /** The longest offline license file an operator may issue (seconds); 7 days by default. */
  offlineMaxSeconds?: number;
  /** The vouched key set to send with a lease signed by `kid` (FreshKeyAnnouncer), if any. */
  keySetFor?: (kid: string) => Promise<KeySetDocument | undefined>;
}

export const DEFAULT_OFFLINE_MAX_SECONDS = 7 * 24 * 3600;


interface PresenceRequest {
  readonly gatewayId: string;
  readonly online: boolean;
  readonly transport: string | null;
  /** Any other message from the agent: online if it was not; an online gateway keeps its transport. */
  readonly seen?: boolean;
}


/**
 * Issues, renews, acknowledges and releases leases. Transports (MQTT, Socket.IO, HTTP pull) call
 * these plain functions; none of them knows about the others.
 */
export class LeaseService {
  private readonly now: () => number;
  private readonly grants: BatchQueue<GrantRequest, LeaseGrant | undefined>;
  private readonly acks: BatchQueue<AckRequest, { acknowledged: boolean }>;
  private readonly presence: BatchQueue<PresenceRequest, void>;
  /** Offline transactions (with their reclaims) that run at once. */
  private readonly offlineLimit: ConcurrencyLimit;
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
    this.presence = new BatchQueue((b) => this.presenceBatch(b), { maxBatch, lanes: lanes.presence, key: (r) => r.gatewayId });
    this.offlineLimit = new ConcurrencyLimit(lanes.offline);
  }

  /**
   * A fresh lease for the gateway's current allocation. Idempotent per gateway: a new lease never
   * holds more than the allocation, which the pool already counts, so reconnects take nothing extra.
   * Concurrent calls are granted together, one transaction per batch (see BatchQueue).
   */
  async grant(gatewayId: string, reason: GrantReason): Promise<LeaseGrant> {
    const grant = await this.grants.submit({ gatewayId, reason, onlyOnline: false, started: performance.now() });
    return grant!;
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
    const grant = await this.grants.submit({ gatewayId, reason: 'offline', onlyOnline: false, started: performance.now(), offline: { ttlSec, actor: actorLabel(actor) } });
    return grant!;
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
    return outcome.value!;
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
    await Promise.all([this.grants.idle(), this.acks.idle(), this.presence.idle()]);
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
    const { existing, result, found } = await this.rawTx('acknowledge', async (tx) => {
      const existing = await leaseBatchStore.lockGateways(tx, requests.map((r) => r.gatewayId));
      const result = await leaseBatchStore.acknowledge(
        tx,
        requests.filter((r) => existing.has(r.gatewayId)),
        this.now(),
      );
      const found = new Map(result.found.map((f) => [f.id, f]));
      // The points of a larger lease came back: that is worth an audit row.
      const returned = new Map<string, EndedLease[]>();
      for (const s of result.superseded) {
        const by = found.get(s.by)!;
        if (s.tags > by.tags || s.connections > by.connections) returned.set(s.by, [...(returned.get(s.by) ?? []), s]);
      }
      await leaseBatchStore.appendAudit(
        tx,
        [...returned].map(([jti, ended]) => {
          const by = found.get(jti)!;
          return {
            actor: actorLabel({ kind: 'gateway', gatewayId: by.gatewayId, poolId: by.poolId }),
            action: 'lease.superseded',
            poolId: by.poolId,
            gatewayId: by.gatewayId,
            subject: jti,
            before: ended.map((e) => ({ jti: e.id, tags: e.tags, connections: e.connections })),
            after: { tags: by.tags, connections: by.connections },
          };
        }),
      );
      return { existing, result, found };
    });
    if (result.superseded.length) this.opts.observer?.ended?.('superseded', result.superseded);
    // A larger lease that stopped counting returned points.
    this.pointsFreed(result.superseded.filter((s) => { const by = found.get(s.by)!; return s.tags > by.tags || s.connections > by.connections; }));
    return requests.map((r) => {
      if (!existing.has(r.gatewayId)) return failed(notFound('gateway', r.gatewayId));
      const f = found.get(r.jti);
      // Another gateway's lease is no lease of this one (a batch may hold both requests).
      if (!f || f.gatewayId !== r.gatewayId) return failed(notFound('lease', r.jti));
      return succeeded({ acknowledged: f.live });
    });
  }

  /** A clean stop: every live lease of the gateway ends now and its points return at once. */
  async release(gatewayId: string, actor: Actor): Promise<{ released: number }> {
    const ended = await this.tx('release', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) throw notFound('gateway', gatewayId);
      return this.endLeases(tx, g.id, g.poolId, 'released', actorLabel(actor));
    });
    if (ended.length) this.opts.observer?.ended?.('released', ended);
    this.pointsFreed(ended);
    return { released: ended.length };
  }

  /**
   * Presence from the transports (connect, hello, last will, disconnect). Going offline returns
   * nothing by itself: see disconnect-reclaim.ts. Calls for one gateway apply in the order made;
   * "online" calls are applied in batches.
   */
  setPresence(gatewayId: string, online: boolean, transport: string | null): Promise<void> {
    if (!isUuid(gatewayId)) return Promise.resolve(); // names no gateway
    return this.presence.submit({ gatewayId, online, transport });
  }

  /**
   * "Offline" applied only if `stillGone` holds once the gateway row is locked: a replica taking over
   * a dead replica's agents, or a socket that closed, re-checks that no replica holds one (server/replicas).
   */
  setOfflineIf(gatewayId: string, transport: string, stillGone: (tx: Tx) => Promise<boolean>): Promise<void> {
    if (!isUuid(gatewayId)) return Promise.resolve();
    return this.offlineLimit.run(() => this.setOffline(gatewayId, transport, stillGone));
  }

  /**
   * Any message from an agent over a live transport (renew, ack, usage) shows it is online: a
   * gateway shown offline becomes online over that transport; an online one keeps its transport,
   * so a late message from the transport it left cannot take presence away from the live one.
   */
  seen(gatewayId: string, transport: string): Promise<void> {
    if (!isUuid(gatewayId)) return Promise.resolve();
    return this.presence.submit({ gatewayId, online: true, transport, seen: true });
  }

  /**
   * reclaim on-disconnect: ends the leases of gateways lost for longer than their lease's grace
   * plus `marginSec` (see disconnect-reclaim.ts). Returns how many ended.
   */
  async reclaimDisconnected(marginSec: number, batch = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const ended = await this.rawStatement('sweep', (sql) => reclaimDisconnected(sql, this.now(), marginSec, batch));
      total += ended.length;
      if (ended.length) this.opts.observer?.ended?.('reclaimed', ended);
      this.pointsFreed(ended);
      if (ended.length < batch) return total;
    }
  }

  private async presenceBatch(requests: readonly PresenceRequest[]): Promise<Outcome<void>[]> {
    const outcomes = new Map<string, Outcome<void>>();
    const online = requests.filter((r) => r.online);
    if (online.length) {
      try {
        const changed = await this.rawStatement('presence', (sql) => leaseBatchStore.markOnline(sql, online.map((r) => ({ ...r, seen: r.seen === true })), this.now()));
        for (const r of changed) this.opts.events?.emit('gateway.presence', { gatewayId: r.id, poolId: r.poolId, online: true, transport: r.transport });
        for (const r of online) outcomes.set(r.gatewayId, succeeded(undefined));
      } catch (err) {
        for (const r of online) outcomes.set(r.gatewayId, failed(err));
      }
    }
    // Going offline: one transaction per gateway, a few at a time.
    await Promise.all(
      requests
        .filter((r) => !r.online)
        .map((r) =>
          this.offlineLimit.run(() => this.setOffline(r.gatewayId, r.transport)).then(
            () => outcomes.set(r.gatewayId, succeeded(undefined)),
            (err: unknown) => outcomes.set(r.gatewayId, failed(err)),
          ),
        ),
    );
    return requests.map((r) => outcomes.get(r.gatewayId)!);
  }

  private async setOffline(gatewayId: string, transport: string | null, stillGone?: (tx: Tx) => Promise<boolean>): Promise<void> {
    let changed: { poolId: string } | undefined;
    await this.tx('presence', async (tx) => {
      const g = await gatewayStore.lock(tx, gatewayId);
      if (!g) return;
      if (stillGone && !(await stillGone(tx))) return;
      // An agent that failed over: a late "offline" from the transport it left says nothing.
      if (g.online && transport !== null && g.transport !== null && g.transport !== transport) return;
      if (g.online) {
        changed = { poolId: g.poolId };
        const at = new Date(this.now());
        await gatewayStore.update(tx, gatewayId, { online: false, presenceChangedAt: at, lastSeenAt: at });
        await auditStore.append(tx, [{ actor: 'system:presence', action: 'gateway.offline', poolId: g.poolId, gatewayId, subject: g.name, after: { transport } }]);
      }
    });
    if (changed) this.opts.events?.emit('gateway.presence', { gatewayId, poolId: changed.poolId, online: false, transport });
  }

  /** Deletes ended leases older than `days` (one batch); returns how many. See leaseStore.pruneEnded. */
  async pruneHistory(days: number, batch = 2000): Promise<number> {
    return this.tx('sweep', (tx) => leaseStore.pruneEnded(tx, days, batch));
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
      this.pointsFreed(ended);
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

  /** One statement, atomic on its own: no BEGIN and COMMIT round trips. */
  private async rawStatement<T>(operation: 'presence' | 'sweep', fn: (sql: Sql) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn(this.db.$client);
    } finally {
      this.opts.observer?.transaction?.(operation, (performance.now() - started) / 1000);
    }
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
