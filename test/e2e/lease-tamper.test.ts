import crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LeaseSigner } from '../../server/signing/lease-signer.js';
import { KeySetVoucher } from '../../server/signing/key-set-voucher.js';
import { SigningKeyStore } from '../../server/signing/signing-key-store.js';
import { KEY_SET_PATH } from '../../shared/protocol/key-set.js';
import type { LeaseClaims } from '../../shared/protocol/lease-claims.js';
import { startAttackerProxy, type AttackerProxy } from '../helpers/attacker-proxy.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startControllerProcess, type ControllerProcess } from '../helpers/controller-process.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { createTestVendor } from '../helpers/vendor.js';

const ADMIN = `fl_${'t'.repeat(43)}`;
const SKEW = 5;
// From the faketime package (.ci/run installs it).
const LIBFAKETIME = ['x86_64', 'aarch64'].map((a) => `/usr/lib/${a}-linux-gnu/faketime/libfaketime.so.1`).find((f) => existsSync(f)) ?? 'libfaketime.so.1';

/**
 * Issue 16: a gateway owner with root (clock, restarts, recorded leases, a proxy in front of the
 * controller) cannot keep points past the lease's exp + skew. Real controller, real agent processes;
 * the agent's clock is moved with libfaketime (the offset file is re-read on every call).
 */
describe('the agent cannot be made to enforce a lease past exp + skew (issue 16)', () => {
  let db: TestDatabase;
  let ctl: ControllerProcess | undefined;
  let ctlEnv: Record<string, string>;
  let dir: string;
  let proxy: AttackerProxy;
  const codes: Record<number, string> = {};
  const agents: AgentProcess[] = [];
  const ctlUrl = () => `http://127.0.0.1:${ctlEnv.PORT}`;
  const api = restClient(ctlUrl, ADMIN);

  const controllerUp = async () => {
    if (!ctl || ctl.child.exitCode !== null || ctl.child.signalCode !== null) ctl = await startControllerProcess(ctlEnv, { readyTimeoutMs: 120_000 });
    return ctl;
  };
  const controllerDown = async () => {
    await ctl?.stop('SIGKILL');
  };

  /** A fresh gateway through the proxy, holding an acknowledged lease of `tags`. */
  const enrolledAgent = async (ttl: 15 | 60, tags: number, extraEnv: Record<string, string> = {}) => {
    const c = await controllerUp();
    const stateDir = path.join(dir, crypto.randomUUID());
    const clockFile = path.join(dir, `${crypto.randomUUID()}.faketime`);
    await fs.writeFile(clockFile, '+0s\n');
    const env = {
      FLOATLEASE_CONTROLLER_URL: proxy.url,
      FLOATLEASE_MQTT_URL: c.mqttUrl,
      FLOATLEASE_TRANSPORT: 'mqtt',
      FLOATLEASE_MQTT_KEEPALIVE_SEC: '2',
      FLOATLEASE_FAILOVER_AFTER_SEC: '1',
      FLOATLEASE_ACTIVATION_CODE: codes[ttl]!,
      FLOATLEASE_STATE_DIR: stateDir,
      FLOATLEASE_HARDWARE_ID: crypto.randomUUID(),
      FLOATLEASE_CLOCK_SKEW_SEC: String(SKEW),
      FLOATLEASE_GUARD_SAVE_SEC: '1',
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: clockFile,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      ...extraEnv,
    };
    const a = spawnAgent(env);
    agents.push(a);
    const { gatewayId } = await a.ready(60_000);
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags, connections: 2 });
    await waitFor('limits applied', async () => (await a.license()).totalTagCount === tags, { timeoutMs: 30_000 });
    const gw = async () => (await api<{ lease: { seq: number; state: string } | null }>('GET', `/api/v1/gateways/${gatewayId}`)).body;
    await waitFor('lease acknowledged', async () => (await gw()).lease?.state === 'acknowledged', { timeoutMs: 30_000 });
    const setClock = (offsetSec: number) => fs.writeFile(clockFile, `${offsetSec >= 0 ? '+' : ''}${Math.round(offsetSec)}s\n`);
    const respawn = (more: Record<string, string> = {}) => {
      const b = spawnAgent({ ...env, ...more });
      agents.push(b);
      return b;
    };
    return { a, env, gatewayId, stateDir, setClock, respawn };
  };

  const storedClaims = async (stateDir: string): Promise<LeaseClaims> => {
    const doc = JSON.parse(await fs.readFile(path.join(stateDir, 'lease.json'), 'utf8')) as { lease: { jws: string } };
    return decodeJwt(doc.lease.jws) as unknown as LeaseClaims;
  };
  const credentialOf = async (stateDir: string): Promise<string> =>
    (JSON.parse(await fs.readFile(path.join(stateDir, 'credential.json'), 'utf8')) as { credential: { secret: string } }).credential.secret;

  /** Samples the agent's license until it is TRIAL; returns when it was last seen FLOATING (real clock). */
  const lastFloating = async (a: AgentProcess, timeoutMs: number, until?: () => boolean): Promise<{ lastFloatingAt: number; tags: number[] }> => {
    let lastFloatingAt = 0;
    const tags: number[] = [];
    await waitFor(
      'the trial allowance',
      async () => {
        const l = await a.license();
        if (l.mode === 'FLOATING') {
          lastFloatingAt = Date.now();
          tags.push(Number(l.totalTagCount));
        }
        return l.mode === 'TRIAL' && (until ? until() : true);
      },
      { timeoutMs, intervalMs: 100 },
    );
    return { lastFloatingAt, tags };
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'floatlease-tamper-'));
    const vendor = await createTestVendor(dir);
    db = await createTestDatabase();
    ctlEnv = {
      DATABASE_URL: db.url,
      ADMIN_TOKEN: ADMIN,
      TRUSTED_ISSUERS: vendor.publicJwkFile,
      SWEEP_INTERVAL_MS: '500',
      DATA_DIR: path.join(dir, 'controller'),
      PORT: String(await freePort()),
      MQTT_EMBEDDED_PORT: String(await freePort()),
    };
    await controllerUp();
    proxy = await startAttackerProxy(ctlUrl);
    for (const ttl of [15, 60] as const) {
      const poolId = (await api<{ id: string }>('POST', '/api/v1/pools', { name: `tamper-${ttl}`, leaseTtlSeconds: ttl })).body.id;
      expect((await api('PUT', `/api/v1/pools/${poolId}/license`, { license: await vendor.license({ tags: 200_000, connections: 50 }) })).status).toBe(200);
      codes[ttl] = (await api<{ code: string }>('POST', `/api/v1/pools/${poolId}/activation-codes`, { seats: 20 })).body.code;
    }
  }, 120_000);

  afterEach(async () => {
    proxy.override(undefined);
    await Promise.all(agents.splice(0).map((a) => a.stop('SIGKILL')));
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await ctl?.stop('SIGKILL');
    await proxy?.close();
    await db?.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('1. SIGKILL, clock set back to the acceptance time, restart (three times): trial by exp + skew', async () => {
    const { a, stateDir, respawn, setClock } = await enrolledAgent(15, 300);
    const lease = await storedClaims(stateDir);
    await controllerDown();
    // Let part of the lifetime pass (and the time floor be saved) before the first restart.
    await waitFor('a third of the lifetime', () => Date.now() >= (lease.iat + 5) * 1000, { timeoutMs: 20_000 });
    let current = a;
    let lastFloatingAt = 0;
    const sample = async () => {
      const l = await current.license();
      if (l.mode === 'FLOATING') lastFloatingAt = Date.now();
      return l.mode;
    };
    for (let i = 0; i < 3; i++) {
      await current.stop('SIGKILL');
      await setClock(lease.iat - Date.now() / 1000);
      current = respawn();
      await current.ready(60_000);
      await sample();
    }
    await waitFor('the trial allowance', async () => (await sample()) === 'TRIAL', { timeoutMs: (lease.ttl + 60) * 1000, intervalMs: 100 });
    expect(lastFloatingAt).toBeLessThanOrEqual((lease.exp + SKEW) * 1000);
  }, 180_000);

  it('2. recorded genuine leases (higher seq) replayed after expiry with the clock set back, no restart: never enforced', async () => {
    const { a, stateDir, setClock } = await enrolledAgent(15, 400);
    const held = await storedClaims(stateDir);
    const secret = await credentialOf(stateDir);
    // Recorded: genuine leases with seq above the agent's, as a capture of its traffic would hold.
    const recorded: { lease: string; jti: string; seq: number; expiresAt: number; ttl: number }[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${ctlUrl()}/api/v1/agent/lease`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: '{"renewal":true}' });
      expect(res.status).toBe(200);
      recorded.push((await res.json()) as (typeof recorded)[number]);
    }
    await controllerDown();
    const last = recorded[recorded.length - 1]!;
    expect(recorded[0]!.seq).toBeGreaterThan(held.seq);
    // Wait for the real expiry of every recorded lease (and of the agent's own).
    await waitFor('the recorded leases expired', () => Date.now() > (last.expiresAt + SKEW + 1) * 1000, { timeoutMs: 60_000 });
    await waitFor('the agent on trial', async () => (await a.license()).mode === 'TRIAL', { timeoutMs: 30_000 });
    let served = 0;
    proxy.override(async (method, p) => {
      if (method !== 'POST' || p !== '/api/v1/agent/lease' || served >= recorded.length) return undefined;
      const grant = recorded[served++]!;
      // Each delivered with the agent's clock set back to its iat.
      await setClock(grant.expiresAt - grant.ttl - Date.now() / 1000);
      return { status: 200, body: grant };
    });
    const samples: string[] = [];
    await waitFor(
      'every recorded lease delivered',
      async () => {
        samples.push(String((await a.license()).mode));
        return served === recorded.length;
      },
      { timeoutMs: 150_000, intervalMs: 100 },
    );
    // Ten more samples after the last delivery, paced: an observation window, not a wait for an event.
    for (let i = 0; i < 10; i++) {
      samples.push(String((await a.license()).mode));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(samples.filter((s) => s === 'FLOATING')).toEqual([]);
    expect(a.logs.filter((l) => l.msg === 'refused a lease' && l.reason === 'expired').length).toBeGreaterThanOrEqual(1);
  }, 300_000);

  it('3. a key set from a spoofed controller address is refused, the pinned one kept, the forged lease never enforced', async () => {
    const { a, stateDir } = await enrolledAgent(15, 500);
    const genuine = await storedClaims(stateDir);
    const pinned = await fs.readFile(path.join(stateDir, 'trust.json'), 'utf8');
    const keyDir = path.join(dir, `attacker-${crypto.randomUUID()}`);
    const attackerKeys = await SigningKeyStore.open({ dir: keyDir, clock: { now: Date.now }, logger: { info() {}, warn() {} } });
    const attackerJwks = attackerKeys.publicJwks() as unknown as { keys: Record<string, unknown>[] };
    const attackerSet = await new KeySetVoucher(attackerKeys, async () => attackerJwks).document();
    const signer = new LeaseSigner(attackerKeys);
    const forge = async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims: LeaseClaims = { ...genuine, jti: crypto.randomUUID(), iat: now, nbf: now, exp: now + 3600, ttl: 3600, seq: genuine.seq + 1000, points: { tags: 100_000, connections: 50 } };
      return { lease: await signer.sign(claims), jti: claims.jti, seq: claims.seq, expiresAt: claims.exp, ttl: claims.ttl };
    };
    await controllerDown();
    let leasesServed = 0;
    let keysServed = 0;
    proxy.override(async (method, p) => {
      if (p === '/.well-known/jwks.json') return (keysServed++, { status: 200, body: attackerJwks });
      if (p === KEY_SET_PATH) return (keysServed++, { status: 200, body: attackerSet });
      if (method === 'POST' && p === '/api/v1/agent/lease') return (leasesServed++, { status: 200, body: await forge() });
      return { status: 404, body: { detail: 'no' } };
    });
    const { tags } = await lastFloating(a, 120_000, () => leasesServed >= 3 && keysServed >= 1);
    // Seen floating on the genuine lease (so the sampling can see FLOATING), never on the forged one.
    expect(tags).toContain(500);
    expect(tags.filter((t) => t === 100_000)).toEqual([]);
    expect(await fs.readFile(path.join(stateDir, 'trust.json'), 'utf8')).toBe(pinned);
    expect(a.logs.some((l) => l.msg === 'refused a lease' && l.reason === 'unknown-key')).toBe(true);
  }, 180_000);

  it('4. clock 25 s ahead (inside the 30 s skew): renews at most once per third of the lifetime', async () => {
    const { gatewayId, setClock } = await enrolledAgent(60, 600, { FLOATLEASE_CLOCK_SKEW_SEC: '30' });
    const seqOf = async () => (await api<{ lease: { seq: number } | null }>('GET', `/api/v1/gateways/${gatewayId}`)).body.lease?.seq ?? 0;
    await setClock(25);
    // The clock moved after the last lease: the next renewal (from the monotonic clock) comes with it.
    const start = await seqOf();
    const startedAt = performance.now();
    await waitFor('20 s of renewals', () => performance.now() - startedAt >= 20_000, { timeoutMs: 30_000, intervalMs: 500 });
    const renewals = (await seqOf()) - start;
    // 20 s is a third of the 60 s lifetime: at most one scheduled renewal (plus one already due).
    expect(renewals).toBeLessThanOrEqual(2);
  }, 120_000);
});
