import { describe, expect, it } from 'vitest';
import { Agent } from '../../../agent/agent.js';
import { activationRoutes } from '../../../agent/local/activation-routes.js';
import { ControllerHttpError } from '../../../agent/controller/controller-api.js';
import { LicenseFileReports } from '../../../agent/lease/license-file-reports.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { waitFor } from '../../helpers/ports.js';
import { captureLogger, CREDENTIAL, enrolledStore, FakeController, localApiPerTest, MemoryStore, stoppedAfterEach, testAgent, TestSigner } from './fakes.js';
import { perFile } from '../../helpers/per-file.js';

/** Issue 17 finding 9: an offline license file loaded at the device is checked like a pushed lease. */
const signer = perFile(() => TestSigner.create(), (s) => s.dispose());
const stranger = perFile(() => TestSigner.create(), (s) => s.dispose());

const running = stoppedAfterEach<Agent>();
// Hooks run as a stack: the local API closes before the agents stop.
const startApi = localApiPerTest();

const DAY = 86_400;
const TOKEN = 'local-token-for-tests';

/** Enrolled, controller unreachable over every transport (they never connect): the offline case. */
async function offlineAgent(store = enrolledStore(signer), controller = new FakeController(signer)) {
  const a = testAgent({ signer, store, controller, transports: ['mqtt'], options: { gatewayName: undefined } });
  running.push(a.agent);
  await a.agent.start();
  return { ...a, mqtt: async () => (await a.transports())[0]! };
}

const offlineFile = (overrides: Parameters<TestSigner['grant']>[0] = {}, nowMs?: number) =>
  signer.grant({ ttl: 3 * DAY, offline: true, points: { tags: 300, connections: 20 }, plugins: ['OPC UA'], licenseExpiresAt: Math.floor(Date.now() / 1000) + 30 * DAY, ...overrides }, nowMs);

describe('offline license file', () => {
  it('a valid file for this hardware is enforced, shown as offline, acknowledged to the controller and kept across a stop', async () => {
    const { agent, store, controller } = await offlineAgent();
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    const file = await offlineFile();
    const r = await agent.loadLicenseFile(JSON.stringify({ license: file.lease, jti: file.jti }));
    expect(r).toMatchObject({ ok: true, seq: file.seq, expiresAt: file.expiresAt, points: { tags: 300, connections: 20 }, offline: true });
    expect(agent.effectiveLimits()).toEqual({ tags: 300, connections: 20, plugins: ['OPC UA'] });
    expect(agent.status()).toMatchObject({ licenseType: 'FLOATING', offline: true, expiresAt: file.expiresAt, seq: file.seq });
    expect(agent.status().secondsLeft).toBeGreaterThan(2 * DAY);
    expect(controller.acks).toContain(file.jti);
    expect(store.state.lease?.seq).toBe(file.seq);
    await agent.stop();
    // Not released: the device may reboot away from the controller; the pool holds the points until exp.
    expect(store.state.lease?.seq).toBe(file.seq);
  });

  it('refuses a file for other hardware, another gateway, a forged or tampered one, an expired one and a replay; nothing changes', async () => {
    const { agent } = await offlineAgent();
    const held = await offlineFile({ points: { tags: 50, connections: 2 } });
    expect((await agent.loadLicenseFile(held.lease)).ok).toBe(true);
    const before = agent.effectiveLimits();
    const tampered = await offlineFile();
    const [h, p, s] = tampered.lease.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...payload, points: { tags: 99_999, connections: 999 } })).toString('base64url');
    const cases: [string, string, number, string][] = [
      ['other hardware', (await offlineFile({ hwid: 'B'.repeat(42) + 'A=' })).lease, 422, 'wrong-hardware'],
      ['other gateway', (await offlineFile({ sub: '11111111-1111-4111-8111-111111111111' })).lease, 422, 'wrong-gateway'],
      ['signed by an unpinned key', (await stranger.grant({ ttl: 3 * DAY, offline: true, seq: 10_000 })).lease, 422, 'unknown-key'],
      ['tampered points', `${h}.${forgedPayload}.${s}`, 422, 'bad-signature'],
      ['expired', (await offlineFile({}, Date.now() - 4 * DAY * 1000)).lease, 422, 'expired'],
      ['replayed (older seq)', (await offlineFile({ seq: held.seq - 1 })).lease, 409, 'replayed'],
      ['not a lease', 'hello', 400, 'malformed'],
    ];
    for (const [what, content, status, reason] of cases) {
      const r = await agent.loadLicenseFile(content);
      expect(r, what).toMatchObject({ ok: false, status, reason });
      expect(agent.effectiveLimits(), what).toEqual(before);
    }
    expect(agent.status().seq).toBe(held.seq);
  });

  it('the load is reported to the controller at once when it answers (audited there once per file)', async () => {
    const { agent, store, controller } = await offlineAgent();
    const file = await offlineFile();
    const before = Math.floor(Date.now() / 1000);
    const r = await agent.loadLicenseFile(file.lease);
    expect(r).toMatchObject({ ok: true, seq: file.seq, reported: true });
    expect(controller.fileReports).toHaveLength(1);
    expect(controller.fileReports[0]!.jti).toBe(file.jti);
    expect(controller.fileReports[0]!.loadedAt).toBeGreaterThanOrEqual(before);
    expect(controller.fileReports[0]!.loadedAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(store.fileReports).toEqual([]);
  });

  it('controller out of reach: the report waits in the state folder, survives a restart and is sent at the next contact', async () => {
    const store = enrolledStore(signer);
    const controller = new FakeController(signer);
    controller.reachable = false;
    const first = await offlineAgent(store, controller);
    const file = await offlineFile();
    expect(await first.agent.loadLicenseFile(file.lease)).toMatchObject({ ok: true, reported: false });
    expect(controller.fileReports).toEqual([]);
    expect(store.fileReports).toEqual([expect.objectContaining({ jti: file.jti, seq: file.seq })]);
    await first.agent.stop();
    // The device restarts, still away: the file's lease is enforced from the state folder, the report still waits.
    const second = await offlineAgent(store, controller);
    expect(second.agent.effectiveLimits()).toEqual({ tags: 300, connections: 20, plugins: ['OPC UA'] });
    expect(store.fileReports).toHaveLength(1);
    // Back in reach: the first lease the controller sends is the contact that carries the report.
    controller.reachable = true;
    (await second.mqtt()).connect();
    await waitFor('report sent', () => controller.fileReports.length === 1 && store.fileReports.length === 0);
    expect(controller.fileReports[0]!.jti).toBe(file.jti);
  });

  it('a report the controller refuses for good (404: no such lease) is dropped; one it cannot take now is kept', async () => {
    const store = new MemoryStore();
    const log = captureLogger();
    let answer: () => Promise<{ recorded: boolean }> = () => Promise.reject(new ControllerHttpError(503, undefined, 'starting'));
    const reports = new LicenseFileReports({ store, controller: { reportLicenseFile: () => answer() }, logger: log.logger });
    const report = { jti: '22222222-2222-4222-8222-222222222222', seq: 7, loadedAt: 1_700_000_000 };
    expect(await reports.loaded(report, CREDENTIAL)).toBe(false);
    expect(store.fileReports).toEqual([report]);
    answer = () => Promise.reject(new ControllerHttpError(404, 'not-found', 'no such lease'));
    expect(await reports.flush(CREDENTIAL)).toBe(true);
    expect(store.fileReports).toEqual([]);
  });

  it('POST /api/license/file takes the file as the body behind the local token', async () => {
    const { agent } = await offlineAgent();
    const api = await startApi({
      view: () => agent.status(),
      routers: [activationRoutes({ localToken: TOKEN, activate: () => Promise.reject(new Error('unused')), loadLicenseFile: (c) => agent.loadLicenseFile(c) })],
    });
    const file = await offlineFile({ points: { tags: 222, connections: 11 } });
    const post = (body: string, headers: Record<string, string>) => fetch(`${api.url}/api/license/file`, { method: 'POST', headers, body });
    expect((await post(file.lease, { 'content-type': 'text/plain' })).status).toBe(401);
    expect((await post(file.lease, { 'content-type': 'text/plain', authorization: 'Bearer wrong' })).status).toBe(401);
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    const other = await post((await offlineFile({ hwid: 'C'.repeat(42) + 'A=' })).lease, { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream' });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ error: 'wrong-hardware' });
    const ok = await post(file.lease + '\n', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ seq: file.seq, points: { tags: 222, connections: 11 }, offline: true });
    const doc = (await (await fetch(`${api.url}/api/license`)).json()) as Record<string, unknown>;
    expect(doc).toMatchObject({ totalTagCount: 222, maxConnections: 11, leaseOffline: true, licenseType: 'VIRTUAL' });
    // The controller's JSON answer saved as the file works too.
    const again = await offlineFile({ points: { tags: 223, connections: 11 } });
    const json = await post(JSON.stringify({ license: again.lease }), { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' });
    expect(json.status).toBe(200);
    expect(agent.effectiveLimits().tags).toBe(223);
  });
});
