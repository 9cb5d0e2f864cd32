import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach } from 'vitest';
import { Agent, type AgentOptions, type AgentStateStore } from '../../../agent/agent.js';
import type { ControllerClient, EnrollRequest } from '../../../agent/controller/controller-api.js';
import { startLocalApi, type LocalApi, type LocalApiOptions } from '../../../agent/http/local-api.js';
import type { Clock } from '../../../agent/lease/clock.js';
import type { Logger } from '../../../agent/logger.js';
import type { AgentCredential, FileReport, LeaseGuard, LeaseState, StoredLease, TrustAnchor } from '../../../agent/state/file-state-store.js';
import type { AgentTransport, TransportHandlers } from '../../../agent/transport/agent-transport.js';
import type { HelloMessage, LeaseMessage } from '../../../shared/protocol/agent-messages.js';
import { LEASE_AUDIENCE, type LeaseClaims } from '../../../shared/protocol/lease-claims.js';
import type { EnrollResponse, LeaseGrant, LicenseFileLoaded } from '../../../shared/protocol/rest.js';
import type { KeySetDocument } from '../../../shared/protocol/key-set.js';
import { KeySetVoucher } from '../../../server/signing/key-set-voucher.js';
import { LeaseSigner } from '../../../server/signing/lease-signer.js';
import { SigningKeyStore } from '../../../server/signing/signing-key-store.js';
import { waitFor } from '../../helpers/ports.js';
import { GATEWAY_ID, HARDWARE_ID, POOL_ID, recordingLogger, tempDir } from '../signing/lease-fixtures.js';

export { GATEWAY_ID, HARDWARE_ID, POOL_ID };
export const CREDENTIAL = `flg.${GATEWAY_ID}.${'x'.repeat(43)}`;

/** A clock that follows vitest's fake Date, with a monotonic part that ignores wall-clock jumps. */
export function fakeTimerClock(): Clock & { jumpWall(ms: number): void } {
  let wallOffset = 0;
  let lastDate = Date.now();
  let mono = 1_000_000;
  const sync = () => {
    const d = Date.now();
    mono += Math.max(0, d - lastDate);
    lastDate = d;
  };
  return {
    now: () => (sync(), Date.now() + wallOffset),
    monotonicMs: () => (sync(), mono),
    jumpWall: (ms) => void (wallOffset += ms),
  };
}

/** Pino writing JSON lines into an array. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[]; messages: () => string[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines, messages: () => lines.map((l) => String(l.msg)) };
}

/** The controller's signing side, for tests only: real Ed25519 keys and leases. */
export class TestSigner {
  seq = 0;
  private constructor(
    readonly keys: SigningKeyStore,
    private readonly signer: LeaseSigner,
    readonly dir: string,
  ) {}

  static async create(): Promise<TestSigner> {
    const dir = await tempDir('agent-runtime-keys');
    const keys = await SigningKeyStore.open({ dir, clock: { now: () => Date.now() }, logger: recordingLogger() });
    return new TestSigner(keys, new LeaseSigner(keys), dir);
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return this.keys.publicJwks() as unknown as { keys: Record<string, unknown>[] };
  }

  /** The key set as the controller serves it: signed by every key this signer holds. */
  keySet(): Promise<KeySetDocument> {
    return new KeySetVoucher(this.keys, async () => this.jwks()).document();
  }

  trust(): TrustAnchor {
    return { jwks: this.jwks(), issuer: 'floatlease-test', audience: LEASE_AUDIENCE };
  }

  /** A signed grant for the next seq (or the given claims). */
  async grant(overrides: Partial<LeaseClaims> = {}, nowMs = Date.now()): Promise<LeaseGrant> {
    const now = Math.floor(nowMs / 1000);
    const ttl = overrides.ttl ?? 300;
    const claims: LeaseClaims = {
      iss: 'floatlease-test',
      sub: GATEWAY_ID,
      aud: LEASE_AUDIENCE,
      jti: randomUUID(),
      iat: now,
      nbf: now,
      exp: now + ttl,
      seq: overrides.seq ?? ++this.seq,
      pool: POOL_ID,
      hwid: HARDWARE_ID,
      points: { tags: 100, connections: 5 },
      plugins: ['OPC UA'],
      licenseExpiresAt: now + 86_400,
      ttl,
      ...overrides,
    };
    this.seq = Math.max(this.seq, claims.seq);
    return { lease: await this.signer.sign(claims), jti: claims.jti, seq: claims.seq, expiresAt: claims.exp, ttl };
  }

  dispose(): Promise<void> {
    return fs.rm(this.dir, { recursive: true, force: true });
  }
}

export class MemoryStore implements AgentStateStore {
  credential: AgentCredential | undefined;
  trust: TrustAnchor | undefined;
  state: LeaseState = { lastSeq: 0, lease: undefined };
  guard: LeaseGuard | undefined;
  fileReports: FileReport[] = [];
  saves = 0;

  async prepare() {}
  async loadGuard() {
    return this.guard;
  }
  async saveGuard(g: LeaseGuard) {
    this.guard = g;
  }

  async loadCredential() {
    return this.credential;
  }
  async saveCredential(c: AgentCredential) {
    this.credential = c;
  }
  async loadTrust() {
    return this.trust;
  }
  async saveTrust(t: TrustAnchor) {
    this.trust = t;
  }
  async loadLease() {
    return this.state;
  }
  async saveLease(l: StoredLease) {
    this.saves += 1;
    this.state = { lastSeq: l.seq, lease: l };
  }
  async clearLease(lastSeq: number) {
    this.state = { lastSeq, lease: undefined };
  }
  async loadFileReports() {
    return [...this.fileReports];
  }
  async saveFileReports(r: readonly FileReport[]) {
    this.fileReports = [...r];
  }
}

type Answer = () => Promise<LeaseGrant | undefined>;

/** The controller's HTTP side; every method can be made to fail. */
export class FakeController implements ControllerClient {
  enrollCalls: EnrollRequest[] = [];
  enrollFailures: Error[] = [];
  released = 0;
  acks: string[] = [];
  /** Offline license file loads the controller recorded (jti); unreachable while `reachable` is false. */
  fileReports: LicenseFileLoaded[] = [];
  credentialOk: boolean | undefined = true;
  credentialChecks = 0;
  leaseAnswer: Answer | undefined;
  releaseDelayMs = 0;
  reachable = true;

  constructor(private readonly signer: TestSigner) {}

  async enroll(body: EnrollRequest): Promise<EnrollResponse> {
    this.enrollCalls.push(body);
    const failure = this.enrollFailures.shift();
    if (failure) throw failure;
    return { gatewayId: GATEWAY_ID, poolId: POOL_ID, name: 'gw', credential: CREDENTIAL, reenrolled: false, lease: { issuer: 'floatlease-test', audience: LEASE_AUDIENCE }, jwks: this.signer.jwks() };
  }
  async jwks() {
    return this.signer.jwks();
  }
  async keySet() {
    return this.signer.keySet();
  }
  async lease(): Promise<LeaseGrant> {
    const g = this.reachable ? await (this.leaseAnswer ?? (() => this.signer.grant()))() : undefined;
    if (!g) throw new Error('connect ECONNREFUSED');
    return g;
  }
  async ack(_c: string, jti: string) {
    this.acks.push(jti);
  }
  async release() {
    if (!this.reachable) throw new Error('connect ECONNREFUSED');
    await new Promise((r) => setTimeout(r, this.releaseDelayMs));
    this.released += 1;
  }
  async usage() {}
  async reportLicenseFile(_c: string, report: LicenseFileLoaded) {
    if (!this.reachable) throw new Error('connect ECONNREFUSED');
    const recorded = !this.fileReports.some((r) => r.jti === report.jti);
    if (recorded) this.fileReports.push(report);
    return { recorded };
  }
  /** Borrow requests (durationSec) and returns; the answers default to signed borrow / ordinary leases. */
  borrows: number[] = [];
  returns = 0;
  borrowAnswer: ((durationSec: number) => Promise<LeaseGrant>) | undefined;
  returnAnswer: Answer | undefined;
  async borrow(_c: string, durationSec: number): Promise<LeaseGrant> {
    if (!this.reachable) throw new Error('connect ECONNREFUSED');
    this.borrows.push(durationSec);
    return (this.borrowAnswer ?? ((d) => this.signer.grant({ ttl: d, borrow: true, offline: true })))(durationSec);
  }
  async returnBorrow(): Promise<LeaseGrant> {
    const g = this.reachable ? await (this.returnAnswer ?? (() => this.signer.grant()))() : undefined;
    if (!g) throw new Error('connect ECONNREFUSED');
    this.returns += 1;
    return g;
  }
  async credentialAccepted() {
    this.credentialChecks += 1;
    return this.credentialOk;
  }
}

/** A transport driven by the test: `connect()`/`drop()` fire the handlers; requests answer with signed leases. */
class FakeTransport implements AgentTransport {
  handlers!: TransportHandlers;
  started = 0;
  closed = 0;
  isUp = false;
  calls: string[] = [];
  acks: string[] = [];
  hellos: HelloMessage[] = [];
  /** What hello/renew answer with; undefined = no answer (throws like a timeout). */
  answer: Answer;
  releaseHangs = false;
  retries = 0;

  constructor(
    readonly name: 'mqtt' | 'ws',
    signer: TestSigner,
  ) {
    this.answer = () => signer.grant();
  }

  start() {
    this.started += 1;
  }
  connected() {
    return this.isUp;
  }
  connect() {
    this.isUp = true;
    this.handlers.up(this);
  }
  drop() {
    this.isUp = false;
    this.handlers.down(this);
  }
  async hello(m: HelloMessage) {
    this.calls.push('hello');
    this.hellos.push(m);
    await this.reply();
  }
  async renew() {
    this.calls.push('renew');
    await this.reply();
  }
  async ack(jti: string) {
    this.acks.push(jti);
  }
  async usage() {
    this.calls.push('usage');
  }
  async release() {
    this.calls.push('release');
    if (this.releaseHangs) await new Promise(() => undefined);
  }
  retryNow() {
    this.retries += 1;
  }
  async close() {
    this.closed += 1;
    this.isUp = false;
  }
  push(grant: LeaseMessage, retained = false): Promise<boolean> {
    return this.handlers.lease(grant, this, { retained });
  }
  private async reply() {
    if (!this.isUp) throw new Error(`${this.name} is not connected`);
    const g = await this.answer();
    if (!g) throw new Error(`${this.name}: no answer`);
    await this.handlers.lease(g, this);
  }
}

/** Deterministic junk: random bytes, broken JSON, and JSON of the wrong shape (including near-misses of a lease). */
export function malformedPayloads(n: number, seed = 1): unknown[] {
  let s = seed;
  const rand = () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const values: unknown[] = [null, true, 0, -1, 1e308, '', 'x'.repeat(300), [], {}, { lease: 1 }, '\u0000'];
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    switch (i % 4) {
      case 0:
        out.push(Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))));
        break;
      case 1:
        out.push(`{"lease":"${'a'.repeat(Math.floor(rand() * 10))}`);
        break;
      case 2:
        out.push({ lease: pick(['a.b.c', 'not-a-jws', 42]), jti: pick(['nope', randomUUID(), 7]), seq: pick([-1, 1.5, 'one', 3]), expiresAt: pick([1, 'x']), ttl: pick([0, 300, null]) });
        break;
      default:
        out.push(pick(values));
    }
  }
  return out;
}

/** A store enrolled as GATEWAY_ID that trusts `signer`'s keys. */
export function enrolledStore(signer: TestSigner): MemoryStore {
  const store = new MemoryStore();
  store.credential = { gatewayId: GATEWAY_ID, secret: CREDENTIAL };
  store.trust = signer.trust();
  return store;
}

/** A list the test pushes its agents to; each is stopped after every test. */
export function stoppedAfterEach<T extends { stop(): Promise<unknown> }>(): T[] {
  const running: T[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((a) => a.stop()));
  });
  return running;
}

/** Starts local APIs on a free loopback port; each one is closed after the test that started it. */
export function localApiPerTest(): (o: LocalApiOptions) => Promise<LocalApi> {
  const open: LocalApi[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((a) => a.close()));
  });
  return async (o) => {
    const api = await startLocalApi({ host: '127.0.0.1', port: 0, ...o });
    open.push(api);
    return api;
  };
}

export interface TestAgentSetup {
  signer: TestSigner;
  store: MemoryStore;
  controller?: FakeController;
  clock?: Clock;
  /** The fake transports each start gets, in the agent's order of preference. */
  transports?: readonly ('mqtt' | 'ws')[];
  /** Over the suite's defaults: enrolled as 'gw', 30 s skew, quick failover and renewal backoff. */
  options?: Partial<AgentOptions>;
}

/**
 * An agent on fakes (store, controller, transports the test drives) with a captured log; the test
 * starts it and pushes it to its `stoppedAfterEach` list. `transports()` waits for the set of the
 * latest start.
 */
export function testAgent(setup: TestAgentSetup) {
  const controller = setup.controller ?? new FakeController(setup.signer);
  const log = captureLogger();
  const sets: FakeTransport[][] = [];
  const agent = new Agent({
    options: { activationCode: undefined, gatewayName: 'gw', hardwareId: HARDWARE_ID, clockSkewSec: 30, failoverAfterMs: 50, renewalBackoff: { baseMs: 20, maxMs: 100 }, ...setup.options },
    store: setup.store,
    controller,
    logger: log.logger,
    ...(setup.clock ? { clock: setup.clock } : {}),
    transports: (_id, handlers) => {
      const set = (setup.transports ?? ['mqtt', 'ws']).map((n) => new FakeTransport(n, setup.signer));
      for (const t of set) t.handlers = handlers;
      sets.push(set);
      return set;
    },
  });
  return { agent, controller, store: setup.store, log, sets, transports: () => waitFor('transports', () => sets.at(-1)) };
}
