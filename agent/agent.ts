import { backoffDelayMs, type BackoffOptions } from '../shared/backoff.js';
import { LEASE_AUDIENCE } from '../shared/protocol/lease-claims.js';
import type { Limits } from '../shared/protocol/limits.js';
import { ControllerLink } from './controller-link.js';
import type { EnrollResponse } from '../shared/protocol/rest.js';
import { ControllerHttpError, type ControllerClient } from './controller/controller-api.js';
import { enroll } from './controller/enroll.js';
import { systemClock, type Clock } from './lease/clock.js';
import { LeaseHolder, type HeldLease } from './lease/lease-holder.js';
import { LeasePipeline } from './lease/lease-pipeline.js';
import { LicenseFileReports } from './lease/license-file-reports.js';
import { Borrowing, type BorrowResult } from './lease/borrowing.js';
import { LeaseVerifier } from './lease/lease-verifier.js';
import { TimeFloor } from './lease/time-floor.js';
import { ReachabilityGrace } from './lease/reachability-grace.js';
import type { AgentView } from './local/agent-view.js';
import type { Logger } from './logger.js';
import { trustAnchorSchema, type AgentCredential, type FileStateStore, type LeaseGuard, type StoredLease, type TrustAnchor } from './state/file-state-store.js';
import type { TransportFactory } from './transport/agent-transport.js';
import { noUsageSource, type UsageSource } from './usage/usage-source.js';
import { sleep } from './util/timers.js';
import { AGENT_VERSION } from './version.js';

export type AgentStateStore = Pick<
  FileStateStore,
  | 'prepare'
  | 'loadCredential'
  | 'saveCredential'
  | 'loadLease'
  | 'saveLease'
  | 'clearLease'
  | 'loadTrust'
  | 'saveTrust'
  | 'loadGuard'
  | 'saveGuard'
  | 'loadFileReports'
  | 'saveFileReports'
>;

export interface AgentOptions {
  readonly activationCode: string | undefined;
  readonly gatewayName: string | undefined;
  readonly hardwareId: string;
  readonly clockSkewSec: number;
  readonly failoverAfterMs: number;
  /** How long stop() waits for the release to be acknowledged (default 2 s). */
  readonly releaseTimeoutMs?: number;
  readonly usageIntervalMs?: number;
  readonly renewalBackoff?: BackoffOptions;
  readonly enrollBackoff?: BackoffOptions;
  /** How often the time floor is saved (default 5 s): a restart loses at most this plus the downtime. */
  readonly guardSaveIntervalMs?: number;
  /**
   * Re-enroll with the activation code when no pinned key vouches for the controller's key set (all
   * retired). Only safe when the controller's identity is authenticated (https), since whoever
   * answers enrollment chooses the keys; set for https controller URLs.
   */
  readonly reenrollOnUnvouchedKeys?: boolean;
}

export interface AgentDeps {
  readonly options: AgentOptions;
  readonly store: AgentStateStore;
  readonly controller: ControllerClient;
  readonly transports: TransportFactory;
  readonly logger: Logger;
  readonly usage?: UsageSource;
  readonly clock?: Clock;
  /** This boot's id (Linux: /proc/sys/kernel/random/boot_id): the monotonic clock is comparable within one boot. */
  readonly bootId?: string;
}

const BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 };
/** Re-enrolling after a rejected credential happens at most this often. */
const REENROLL_INTERVAL_MS = 30_000;

/**
 * The agent's lifecycle: boot from the state folder (a valid stored lease is enforced at once),
 * enroll when there is no credential, talk to the controller through a ControllerLink, and release
 * on stop. Whatever happens, `effectiveLimits()` is what the gateway may use.
 */
export type LicenseFileResult =
  | {
      readonly ok: true;
      readonly seq: number;
      readonly expiresAt: number;
      readonly points: { tags: number; connections: number };
      readonly plugins: readonly string[];
      readonly offline: boolean;
      /** The controller recorded the load (audit); false: it is reported at the next contact. */
      readonly reported: boolean;
    }
  | { readonly ok: false; readonly status: number; readonly reason: string; readonly detail: string };

/** The lease JWS of a license file: the compact JWS itself, or the controller's JSON answer. */
function licenseFileJws(content: string): string | undefined {
  const text = content.trim();
  if (!text.startsWith('{')) return text || undefined;
  try {
    const doc = JSON.parse(text) as { license?: unknown };
    const jws = doc.license ?? (doc as { lease?: unknown }).lease;
    return typeof jws === 'string' ? jws.trim() : undefined;
  } catch {
    return undefined;
  }
}

export type ActivationResult =
  | { readonly ok: true; readonly gatewayId: string; readonly poolId: string; readonly name: string; readonly reenrolled: boolean }
  | { readonly ok: false; readonly status: number; readonly problem: string | undefined; readonly detail: string };

export class Agent {
  private holder: LeaseHolder;
  private readonly clock: Clock;
  private readonly grace: ReachabilityGrace;
  private readonly usage: UsageSource;
  private readonly fileReports: LicenseFileReports;
  private readonly borrowing: Borrowing;
  private readonly abort = new AbortController();
  private credential: AgentCredential | undefined;
  private pipeline: LeasePipeline | undefined;
  private link: ControllerLink | undefined;
  private credentialCheck: Promise<void> | undefined;
  private lastEnrollAt = Number.NEGATIVE_INFINITY;
  /** The code to (re-)enroll with: the configured one, or the last one entered on the device. */
  private activationCode: string | undefined;
  private stopping: Promise<void> | undefined;
  private guardTimer: NodeJS.Timeout | undefined;
  private markReady!: () => void;
  /** Settles once the agent knows what to enforce: a lease, or the trial allowance after a first try. */
  readonly ready: Promise<void> = new Promise((resolve) => (this.markReady = resolve));

  constructor(private readonly deps: AgentDeps) {
    this.clock = deps.clock ?? systemClock();
    this.usage = deps.usage ?? noUsageSource;
    this.activationCode = deps.options.activationCode;
    this.fileReports = new LicenseFileReports({ store: deps.store, controller: deps.controller, logger: deps.logger });
    this.grace = new ReachabilityGrace({
      clock: this.clock,
      graceSec: () => this.holder.current()?.claims.disconnectGraceSec,
      onRefreshDue: () => this.link?.requestNow(),
      onCutOff: (sinceContactMs) =>
        deps.logger.warn({ sinceContactMs, graceSec: this.holder.current()?.claims.disconnectGraceSec }, 'cut off from the controller longer than the pool allows; enforcing the trial allowance until it answers'),
    });
    this.holder = new LeaseHolder({ clock: this.clock, usable: (c) => this.grace.allows(c) });
    this.borrowing = new Borrowing({
      controller: deps.controller,
      logger: deps.logger,
      clock: this.clock,
      grace: this.grace,
      session: () => (this.credential && this.pipeline ? { credential: this.credential, pipeline: this.pipeline, holder: this.holder } : undefined),
      stopping: () => this.stopping !== undefined,
    });
  }

  /** Loads the state folder, then enrolls (if needed) and connects in the background. */
  async start(): Promise<void> {
    const { store, logger } = this.deps;
    await store.prepare().catch((err: unknown) => logger.warn({ err }, 'could not prepare the state folder'));
    const [credential, trust, state, guard] = await Promise.all([store.loadCredential(), store.loadTrust(), store.loadLease(), store.loadGuard()]);
    this.holder = new LeaseHolder({
      clock: this.clock,
      lastAcceptedSeq: Math.max(state.lastSeq, guard?.highSeq ?? 0),
      floor: new TimeFloor(this.clock, this.floorAtBoot(guard)),
      clockSkewSec: this.deps.options.clockSkewSec,
      usable: (c) => this.grace.allows(c),
    });
    const behindMs = this.holder.floor.wallBehindMs();
    if (behindMs > 0) logger.warn({ behindSec: Math.round(behindMs / 1000) }, 'the wall clock is behind time the agent has already seen; leases are judged by the later time');
    if (credential && trust && this.adopt(credential, trust) && state.lease) {
      // The stored lease is enforced only when it can be dated: with the guard, and a wall clock that
      // was not set back across the restart (beyond the skew). Otherwise it waits for the controller.
      if (!guard) logger.warn({ seq: state.lease.seq }, 'guard.json is missing; the stored lease is not enforced until the controller confirms a lease');
      else if (behindMs > this.deps.options.clockSkewSec * 1000) logger.warn({ seq: state.lease.seq, behindSec: Math.round(behindMs / 1000) }, 'the clock was set back across the restart; the stored lease is not enforced until the controller confirms a lease');
      else await this.restore(state.lease);
    }
    await this.saveGuard();
    this.guardTimer = setInterval(() => void this.saveGuard(), this.deps.options.guardSaveIntervalMs ?? 5_000);
    this.guardTimer.unref();
    void this.run(credential, trust).catch((err: unknown) => {
      logger.error({ err }, 'the agent cannot reach a working state; restart it');
      this.markReady();
    });
  }

  effectiveLimits(): Limits {
    return this.holder.effectiveLimits();
  }

  /** The license view (F1) for the local page, API and metrics. */
  status(): AgentView {
    const h = this.holder;
    const current = h.current();
    // Dates shown: the floating lease's, or a lapsed one's (as NeuronEX shows an expired license).
    const shown: HeldLease | undefined = h.licenseType() === 'FLOATING' ? current : current ? undefined : h.lastAccepted();
    const borrowed = h.borrowed();
    return {
      gatewayId: this.credential?.gatewayId,
      licenseType: h.licenseType(),
      limits: h.effectiveLimits(),
      usage: this.usage.current(),
      issuedAt: shown?.claims.iat,
      expiresAt: shown?.claims.exp,
      licenseIssuedAt: shown?.claims.licenseIssuedAt,
      licenseExpiresAt: shown?.claims.licenseExpiresAt,
      customer: shown?.claims.customer,
      // A borrow is issued as the offline class too; shown as what it is.
      offline: shown?.claims.offline === true && shown.claims.borrow !== true,
      borrowedUntil: borrowed?.claims.exp,
      secondsLeft: h.secondsLeft(),
      hardwareId: this.deps.options.hardwareId,
      controllerReachable: this.link?.reachable() ?? false,
      transport: this.link?.transport(),
      seq: h.lastAccepted()?.claims.seq,
    };
  }

  /**
   * Borrows the points held for a planned disconnect of `durationSec` (issue 21): until the borrow's
   * last stretch the agent needs nothing from the controller (borrow-policy.ts).
   */
  borrow(durationSec: number): Promise<BorrowResult> {
    return this.borrowing.borrow(durationSec);
  }

  /** Returns a borrow early (back on the network): an ordinary lease, acknowledged, frees the borrow. */
  returnBorrow(): Promise<BorrowResult> {
    return this.borrowing.returnBorrow();
  }

  /** Reports usage now if it changed (the usage watcher may call this on every reading). */
  async reportUsage(): Promise<void> {
    await this.link?.reportUsage();
  }

  /** Releases the lease (live transport, else HTTP; at most `releaseTimeoutMs`), then disconnects. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * Device-side activation (NeuronEX's Administration > License > Activation Code): enrolls with the
   * code once, or re-enrolls after a lost license, as the controller's enrollment rules allow. The
   * controller audits it; its refusal is returned as is, for the person at the device to act on.
   */
  async activate(code: string): Promise<ActivationResult> {
    const { options, controller, logger, store } = this.deps;
    if (this.stopping) return { ok: false, status: 503, problem: undefined, detail: 'the agent is stopping' };
    let r: EnrollResponse;
    try {
      // A gateway that is online or holds a lease is re-bound only with proof of possession (issue 15):
      // the credential this agent holds, when it holds one.
      const current = await store.loadCredential();
      r = await controller.enroll({
        activationCode: code,
        hardwareId: options.hardwareId,
        agentVersion: AGENT_VERSION,
        ...(options.gatewayName ? { name: options.gatewayName } : {}),
        ...(current ? { currentCredential: current.secret } : {}),
      });
    } catch (err) {
      if (err instanceof ControllerHttpError) return { ok: false, status: err.status, problem: err.problem, detail: err.message };
      logger.warn({ err }, 'activation: controller unreachable');
      return { ok: false, status: 503, problem: undefined, detail: `the controller is unreachable: ${(err as Error).message}` };
    }
    this.activationCode = code;
    this.lastEnrollAt = this.clock.monotonicMs();
    const credential = { gatewayId: r.gatewayId, secret: r.credential };
    const trust: TrustAnchor = { jwks: r.jwks, issuer: r.lease.issuer, audience: r.lease.audience };
    await store.saveCredential(credential);
    await store.saveTrust(trust);
    const link = this.link;
    this.link = undefined;
    await link?.close();
    if (!this.adopt(credential, trust)) return { ok: false, status: 502, problem: undefined, detail: "the controller's signing keys are unusable" };
    logger.info({ gatewayId: r.gatewayId, poolId: r.poolId, name: r.name, reenrolled: r.reenrolled }, 'activated on the device');
    this.connect();
    return { ok: true, gatewayId: r.gatewayId, poolId: r.poolId, name: r.name, reenrolled: r.reenrolled };
  }

  /**
   * Loads an offline license file (POST /api/license/file): a lease the controller issued for this
   * hardware, checked like any pushed lease, then enforced until exp or until the controller's next
   * lease supersedes it. Acknowledged to the controller when it is reachable (which ends the older
   * lease there), and reported, which the controller audits (lease.offline-loaded); when it is not
   * reachable, the report waits in the state folder for the next contact.
   */
  async loadLicenseFile(content: string): Promise<LicenseFileResult> {
    const { controller, logger } = this.deps;
    const credential = this.credential;
    if (!this.pipeline || !credential) return { ok: false, status: 409, reason: 'not-enrolled', detail: 'activate this gateway first: the file is checked against the signing keys pinned at enrollment' };
    const jws = licenseFileJws(content);
    if (!jws) return { ok: false, status: 400, reason: 'malformed', detail: 'not a license file (a lease JWS, or JSON with a "license" field)' };
    const outcome = await this.pipeline.deliverFile(jws, (jti) => controller.ack(credential.secret, jti));
    if (!outcome.accepted) {
      logger.warn({ reason: outcome.reason }, 'refused an offline license file');
      const status = outcome.reason === 'malformed' ? 400 : outcome.reason === 'duplicate' || outcome.reason === 'replayed' ? 409 : 422;
      return { ok: false, status, reason: outcome.reason, detail: `the license file was refused: ${outcome.reason}` };
    }
    const c = outcome.lease.claims;
    logger.info({ seq: c.seq, jti: c.jti, exp: c.exp, points: c.points, offline: c.offline === true }, 'loaded an offline license file');
    const reported = await this.fileReports.loaded({ jti: c.jti, seq: c.seq, loadedAt: Math.floor(this.clock.now() / 1000) }, credential.secret);
    return { ok: true, seq: c.seq, expiresAt: c.exp, points: c.points, plugins: c.plugins, offline: c.offline === true, reported };
  }

  /**
   * The saved floor, plus the time the agent was down when that is known: same boot, so the
   * monotonic clock (which nobody can set) ran on. After a reboot, the downtime is lost (README).
   */
  private floorAtBoot(guard: LeaseGuard | undefined): number {
    if (!guard) return 0;
    const mono = this.clock.monotonicMs();
    const sameBoot = this.deps.bootId !== undefined && guard.bootId === this.deps.bootId && guard.monoMs !== undefined && mono >= guard.monoMs;
    return guard.floorMs + (sameBoot ? Math.floor(mono - guard.monoMs!) : 0);
  }

  /** Persists the seq high-water mark and the time floor (guard.json), apart from the lease. */
  private async saveGuard(): Promise<void> {
    const guard: LeaseGuard = {
      highSeq: this.holder.lastAcceptedSeq(),
      floorMs: Math.floor(this.holder.floor.nowMs()),
      monoMs: this.clock.monotonicMs(),
      ...(this.deps.bootId ? { bootId: this.deps.bootId } : {}),
    };
    await this.deps.store.saveGuard(guard).catch((err: unknown) => this.deps.logger.warn({ err }, 'could not save the time floor'));
  }

  private async run(credential: AgentCredential | undefined, trust: TrustAnchor | undefined): Promise<void> {
    if (!credential || (!this.pipeline && this.deps.options.activationCode)) {
      // Keys are pinned at enrollment: missing or unusable pinned keys are taken again the same way.
      if (credential) this.deps.logger.warn('the pinned signing keys are missing or unusable; enrolling again with the activation code');
      if (!(await this.enroll())) return this.markReady();
    } else if (!this.pipeline) {
      this.deps.logger.warn('the pinned signing keys are missing and there is no activation code: trusting the controller\'s current JWKS');
      // Enrolled, but the pinned keys are missing or unusable: take the controller's current set.
      const jwks = await this.retry('fetch the signing keys', async () => trustAnchorSchema.shape.jwks.parse(await this.deps.controller.jwks()));
      if (!jwks) return;
      const fresh: TrustAnchor = { jwks, issuer: trust?.issuer, audience: trust?.audience ?? LEASE_AUDIENCE };
      if (!this.adopt(credential, fresh)) return this.markReady();
      await this.deps.store.saveTrust(fresh);
    }
    this.connect();
  }

  private async enroll(): Promise<boolean> {
    const { options, controller, logger, store } = this.deps;
    if (!this.activationCode) {
      logger.error('not enrolled and no activation code: set FLOATLEASE_ACTIVATION_CODE; the gateway runs on the trial allowance');
      return false;
    }
    this.lastEnrollAt = this.clock.monotonicMs();
    const result = await enroll({
      controller,
      activationCode: this.activationCode,
      hardwareId: options.hardwareId,
      gatewayName: options.gatewayName,
      backoff: options.enrollBackoff ?? BACKOFF,
      logger,
      signal: this.abort.signal,
    });
    if (!result.ok) {
      const r = result.refused;
      if (r) logger.error({ status: r.status, problem: r.problem, detail: r.message }, 'enrollment refused; check FLOATLEASE_ACTIVATION_CODE');
      return false;
    }
    const r = result.response;
    const credential = { gatewayId: r.gatewayId, secret: r.credential };
    const trust: TrustAnchor = { jwks: r.jwks, issuer: r.lease.issuer, audience: r.lease.audience };
    await store.saveCredential(credential);
    await store.saveTrust(trust);
    logger.info({ gatewayId: r.gatewayId, poolId: r.poolId, name: r.name, reenrolled: r.reenrolled }, 'enrolled');
    return this.adopt(credential, trust);
  }

  /** Takes an identity: its verifier (pinned keys, gateway, hardware) and the lease pipeline. */
  private adopt(credential: AgentCredential, trust: TrustAnchor): boolean {
    const { options, logger, store, controller } = this.deps;
    let verifier: LeaseVerifier;
    try {
      verifier = new LeaseVerifier({
        jwks: trust.jwks,
        gatewayId: credential.gatewayId,
        hardwareId: options.hardwareId,
        audience: trust.audience,
        ...(trust.issuer ? { issuer: trust.issuer } : {}),
        clockSkewSec: options.clockSkewSec,
        // Judged on the time floor too: a clock set back cannot revive a recorded, expired lease.
        clock: { now: () => this.holder.floor.judgedNowMs() },
      });
    } catch (err) {
      logger.warn({ err }, 'the pinned signing keys are unusable');
      return false;
    }
    this.credential = credential;
    this.pipeline = new LeasePipeline({
      verifier,
      holder: this.holder,
      store,
      trust,
      fetchKeySet: () => controller.keySet(),
      onKeysOrphaned: () => void this.keysOrphaned(),
      logger,
      clock: this.clock,
      onAccepted: (_lease, source) => {
        this.grace.leaseChanged();
        this.link?.leaseAccepted(source);
        void this.saveGuard();
        this.markReady();
        // A lease from the controller: it is reachable, so files loaded while it was not are reported now.
        if (source !== 'file') this.reportWaitingFiles();
      },
    });
    return true;
  }

  private reportWaitingFiles(): void {
    const credential = this.credential;
    if (!credential || this.stopping) return;
    this.fileReports.flush(credential.secret).catch((err: unknown) => this.deps.logger.warn({ err }, 'could not report the waiting offline license files'));
  }

  private async restore(stored: StoredLease): Promise<void> {
    const { logger } = this.deps;
    const verdict = await this.pipeline!.verifyStored(stored.jws, stored.seq);
    if (!verdict.ok) return logger.info({ seq: stored.seq, reason: verdict.reason }, 'the stored lease is no longer valid');
    if (this.holder.restore({ jws: stored.jws, claims: verdict.claims, receivedAt: stored.receivedAt })) {
      this.grace.restored(stored.receivedAt);
      logger.info({ seq: stored.seq, secondsLeft: this.holder.secondsLeft(), points: verdict.claims.points }, 'enforcing the stored lease until the controller answers');
      this.markReady();
    }
  }

  private connect(): void {
    if (this.stopping || !this.credential || !this.pipeline) return;
    const { options, controller, logger, transports } = this.deps;
    this.link = new ControllerLink({
      identity: { gatewayId: this.credential.gatewayId, credential: this.credential.secret },
      holder: this.holder,
      pipeline: this.pipeline,
      controller,
      transports,
      usage: this.usage,
      grace: this.grace,
      clock: this.clock,
      logger,
      failoverAfterMs: options.failoverAfterMs,
      usageIntervalMs: options.usageIntervalMs,
      renewalBackoff: options.renewalBackoff ?? BACKOFF,
      onAttempt: () => this.markReady(),
      onAuthRefused: () => void this.checkCredential(),
    });
    this.link.start();
  }

  /** No pinned key vouches for the controller's keys: they were all retired while this agent was away. */
  private async keysOrphaned(): Promise<void> {
    const { logger, options } = this.deps;
    if (this.stopping || this.credentialCheck) return;
    if (!options.reenrollOnUnvouchedKeys || !options.activationCode) {
      logger.error(
        'no pinned signing key vouches for the key set served at the controller address: either all pinned keys were retired, or this is not the controller. Leases signed with other keys are refused. To re-enroll, use an https controller URL (re-enrollment is automatic then) or delete trust.json and restart with the activation code',
      );
      return;
    }
    const wait = REENROLL_INTERVAL_MS - (this.clock.monotonicMs() - this.lastEnrollAt);
    if (wait > 0) return;
    this.credentialCheck = (async () => {
      logger.warn('all pinned signing keys were retired; enrolling again with the activation code');
      const link = this.link;
      this.link = undefined;
      await link?.close();
      if (await this.enroll()) this.connect();
    })().finally(() => (this.credentialCheck = undefined));
  }

  /** A refused login may be an outage; only the controller's HTTP API answering 401 means the credential is dead. */
  private checkCredential(): Promise<void> {
    this.credentialCheck ??= this.verifyCredential().finally(() => (this.credentialCheck = undefined));
    return this.credentialCheck;
  }

  private async verifyCredential(): Promise<void> {
    const { controller, logger } = this.deps;
    const credential = this.credential;
    if (!credential || this.stopping || (await controller.credentialAccepted(credential.secret)) !== false) return;
    const link = this.link;
    this.link = undefined;
    await link?.close();
    if (!this.activationCode) {
      logger.error({ gatewayId: credential.gatewayId }, "the controller rejected this gateway's credential; stopped connecting. Set FLOATLEASE_ACTIVATION_CODE to enroll again (the current lease is enforced until it expires)");
      return;
    }
    logger.warn({ gatewayId: credential.gatewayId }, 'the controller rejected our credential; enrolling again with the activation code');
    const wait = REENROLL_INTERVAL_MS - (this.clock.monotonicMs() - this.lastEnrollAt);
    if (wait > 0 && !(await sleep(wait, this.abort.signal))) return;
    if (await this.enroll()) this.connect();
  }

  private async shutdown(): Promise<void> {
    const { logger, options, store } = this.deps;
    this.abort.abort();
    clearInterval(this.guardTimer);
    await this.saveGuard();
    const link = this.link;
    const kept = this.holder.current()?.claims;
    if (link && (kept?.offline || kept?.borrow)) {
      // An offline license or a borrow is not handed back at a stop: a reboot of a device away from the
      // controller keeps it; the controller holds its points until exp (or until a later lease is acknowledged).
      logger.info({ seq: this.holder.lastAcceptedSeq(), borrow: kept?.borrow === true }, kept?.borrow ? 'kept the borrow across the stop' : 'kept the offline license across the stop');
      await link.close();
    } else if (link) {
      const via = await link.release(options.releaseTimeoutMs ?? 2_000);
      if (via) logger.info({ transport: via, seq: this.holder.lastAccepted()?.claims.seq, confirmed: true }, 'released the lease');
      else logger.warn({ waitedMs: options.releaseTimeoutMs ?? 2_000 }, 'the controller did not confirm the release in time; it frees the points when the lease expires');
      // Forgotten either way: the points may already be back in the pool, so this lease must not be reused.
      const seq = this.holder.lastAcceptedSeq();
      this.holder.clear();
      await store.clearLease(seq).catch((err: unknown) => logger.warn({ err }, 'could not clear the stored lease'));
      await link.close();
    }
    this.grace.close();
    this.markReady();
  }

  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        this.deps.logger[attempt % 20 === 0 ? 'warn' : 'debug']({ err }, `cannot ${what} yet; retrying`);
        if (!(await sleep(backoffDelayMs(attempt, BACKOFF), this.abort.signal))) return undefined;
      }
    }
  }
}
