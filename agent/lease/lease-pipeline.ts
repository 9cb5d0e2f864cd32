import { decodeJwt } from 'jose';
import type { LeaseMessage } from '../../shared/protocol/agent-messages.js';
import type { Logger } from '../logger.js';
import { trustAnchorSchema, type FileStateStore, type TrustAnchor } from '../state/file-state-store.js';
import { keepsBorrow } from './borrow-policy.js';
import type { Clock } from './clock.js';
import type { HeldLease, LeaseHolder } from './lease-holder.js';
import type { LeaseRefusalReason, LeaseVerdict, LeaseVerifier } from './lease-verifier.js';
import { verifyKeySet } from './pinned-keys.js';

export type LeaseOutcome =
  | { readonly accepted: true; readonly lease: HeldLease }
  | { readonly accepted: false; readonly reason: LeaseRefusalReason | 'duplicate' | 'borrow-kept' };

export interface LeasePipelineOptions {
  readonly verifier: Pick<LeaseVerifier, 'verify' | 'replaceJwks' | 'pinned'>;
  readonly holder: LeaseHolder;
  readonly store: Pick<FileStateStore, 'saveLease' | 'saveTrust'>;
  readonly trust: TrustAnchor;
  /** The controller's vouched key set (GET /.well-known/floatlease-keyset.json). */
  readonly fetchKeySet: () => Promise<unknown>;
  /** No pinned key signed the key set: the controller retired them all (or someone else answered). */
  readonly onKeysOrphaned?: () => void;
  readonly logger: Logger;
  readonly clock: Pick<Clock, 'monotonicMs' | 'now'>;
  /** At most one JWKS refetch per interval, so a stream of unknown kids cannot hammer the controller. */
  readonly jwksRefreshIntervalMs?: number;
  /** Told about every accepted lease (renewal scheduling, status). */
  readonly onAccepted?: (lease: HeldLease, source: string) => void;
}

/**
 * The one way into the lease holder, whatever the transport: verify (on an unknown key, adopting the
 * key set the lease came with, else the one fetched from the controller, only if a pinned key signed
 * it), accept, persist, then acknowledge over the transport the lease came by. Leases are handled one at a time so seq checks cannot race. Refusals are logged, not acked.
 */
export class LeasePipeline {
  private queue: Promise<unknown> = Promise.resolve();
  private trust: TrustAnchor;
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<boolean> | undefined;

  constructor(private readonly o: LeasePipelineOptions) {
    this.trust = o.trust;
  }

  /** Checks a lease read back from disk; its own seq is allowed again. */
  verifyStored(jws: string, seq: number): Promise<LeaseVerdict> {
    return this.o.verifier.verify(jws, seq - 1);
  }

  /**
   * An offline license file loaded at the device: checked exactly like a pushed lease (pinned keys,
   * audience, gateway, hardware, time with the floor, seq high-water), then enforced and acknowledged.
   */
  async deliverFile(jws: string, ack: (jti: string) => Promise<void>): Promise<LeaseOutcome> {
    let unverified: ReturnType<typeof decodeJwt>;
    try {
      unverified = decodeJwt(jws);
    } catch {
      return { accepted: false, reason: 'malformed' };
    }
    // Unsigned fields, for the log lines only: process() verifies the lease itself.
    const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : 0);
    const exp = num(unverified.exp);
    const grant: LeaseMessage = { lease: jws, jti: typeof unverified.jti === 'string' ? unverified.jti : '', seq: num(unverified['seq']), expiresAt: exp, ttl: Math.max(1, exp - num(unverified.iat)) };
    return this.deliver(grant, 'file', ack);
  }

  /** `retained`: a broker's retained copy, which is often one the agent has already moved past. */
  async deliver(grant: LeaseMessage, source: string, ack: (jti: string) => Promise<void>, retained = false): Promise<LeaseOutcome> {
    const run = this.queue.then(() => this.process(grant, source, retained));
    this.queue = run.catch(() => undefined);
    const outcome = await run;
    if (outcome.accepted) {
      await ack(outcome.lease.claims.jti).catch((err: unknown) =>
        this.o.logger.warn({ source, seq: outcome.lease.claims.seq, err }, 'could not acknowledge the lease; the controller keeps counting the older one until it expires'),
      );
    }
    return outcome;
  }

  private async process(grant: LeaseMessage, source: string, retained: boolean): Promise<LeaseOutcome> {
    const { holder, logger } = this.o;
    const previous = holder.lastAccepted();
    if (previous?.claims.jti === grant.jti && previous.jws === grant.lease) {
      logger.debug({ source, seq: grant.seq }, 'lease already held');
      return { accepted: false, reason: 'duplicate' };
    }
    let verdict = await this.o.verifier.verify(grant.lease, holder.lastAcceptedSeq());
    // A new key: first the key set the lease came with (vouched like a fetched one), else a fetch.
    if (!verdict.ok && verdict.reason === 'unknown-key' && ((grant.keySet !== undefined && (await this.pinKeySet(grant.keySet, `${source} lease`))) || (await this.refreshJwks()))) {
      verdict = await this.o.verifier.verify(grant.lease, holder.lastAcceptedSeq());
    }
    // A retained copy is the last lease published on the topic, however long ago: after a borrow or
    // leases over HTTP it has expired, which says nothing about this device's clock.
    if (!verdict.ok && retained && (verdict.reason === 'replayed' || verdict.reason === 'expired')) {
      logger.debug({ source, seq: grant.seq, reason: verdict.reason }, 'ignored a stale retained lease');
      return { accepted: false, reason: verdict.reason };
    }
    if (!verdict.ok && (verdict.reason === 'expired' || verdict.reason === 'not-yet-valid')) {
      // Every renewal would be refused the same way: say why; the scheduler backs off.
      // From the grant's unsigned fields: for the log line only.
      const offsetSec = Math.round(this.o.clock.now() / 1000 - (grant.expiresAt - grant.ttl));
      const hint = "this device's clock disagrees with the controller's by more than the allowed skew (set it, e.g. with NTP); retrying with backoff";
      logger.warn({ source, seq: grant.seq, reason: verdict.reason, detail: verdict.message, agentClockAheadSec: offsetSec, hint }, 'refused a lease');
      return { accepted: false, reason: verdict.reason };
    }
    if (!verdict.ok) {
      logger.warn({ source, seq: grant.seq, reason: verdict.reason, detail: verdict.message }, 'refused a lease');
      return { accepted: false, reason: verdict.reason };
    }
    const before = holder.current();
    if (keepsBorrow(before?.claims, holder.renewDueInMs() === 0, verdict.claims, source)) {
      // Not acknowledged either: the borrow stays live at the controller (borrow-policy.ts).
      logger[retained ? 'debug' : 'info']({ source, seq: grant.seq, borrowedUntil: before!.claims.exp }, 'kept the borrow: an ordinary lease replaces it on return or in its last minutes');
      return { accepted: false, reason: 'borrow-kept' };
    }
    const lease = holder.accept(grant.lease, verdict.claims);
    const { seq, points, plugins, exp } = verdict.claims;
    await this.o.store.saveLease({ jws: lease.jws, seq, receivedAt: lease.receivedAt }).catch((err: unknown) => {
      logger.warn({ err }, 'could not persist the lease; a restart would begin on the trial allowance');
    });
    const changed = !before || !sameGrant(before, lease);
    logger[changed ? 'info' : 'debug']({ source, seq, points, plugins, exp }, 'lease accepted');
    this.o.onAccepted?.(lease, source);
    return { accepted: true, lease };
  }

  private refreshJwks(): Promise<boolean> {
    if (this.refreshing) return this.refreshing;
    const now = this.o.clock.monotonicMs();
    if (now - this.lastRefreshMs < (this.o.jwksRefreshIntervalMs ?? 10_000)) return Promise.resolve(false);
    this.lastRefreshMs = now;
    this.refreshing = this.fetchAndPin().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async fetchAndPin(): Promise<boolean> {
    let doc: unknown;
    try {
      doc = await this.o.fetchKeySet();
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not refresh the signing keys');
      return false;
    }
    return this.pinKeySet(doc, 'controller');
  }

  /** Adopts a key set (fetched, or carried by a lease) only if a pinned key signed it and it is not older than the pinned one. */
  private async pinKeySet(doc: unknown, from: string): Promise<boolean> {
    const { logger, verifier } = this.o;
    try {
      const verdict = await verifyKeySet(doc, await verifier.pinned(), this.trust.keySetIat ?? 0);
      if (!verdict.ok) {
        logger.warn({ from, reason: verdict.reason, detail: verdict.message }, 'refused a key set no pinned key vouches for; keeping the pinned keys');
        if (verdict.reason === 'not-vouched' && from === 'controller') this.o.onKeysOrphaned?.();
        return false;
      }
      const jwks = trustAnchorSchema.shape.jwks.parse(verdict.jwks);
      verifier.replaceJwks(jwks);
      this.trust = { ...this.trust, jwks, keySetIat: verdict.iat };
      await this.o.store.saveTrust(this.trust);
      logger.info({ from, keys: jwks.keys.length, vouchedBy: verdict.vouchedBy }, 'adopted the signing keys a pinned key vouched for');
      return true;
    } catch (err) {
      logger.warn({ from, err }, 'could not adopt the signing keys');
      return false;
    }
  }
}

function sameGrant(a: HeldLease, b: HeldLease): boolean {
  const x = a.claims;
  const y = b.claims;
  return x.points.tags === y.points.tags && x.points.connections === y.points.connections && x.plugins.join('\n') === y.plugins.join('\n');
}
