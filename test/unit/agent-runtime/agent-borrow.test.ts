import { describe, expect, it } from 'vitest';
import { Agent } from '../../../agent/agent.js';
import { ControllerHttpError } from '../../../agent/controller/controller-api.js';
import { licenseDocument } from '../../../agent/http/local-api.js';
import { runBorrowCommand } from '../../../agent/local/borrow-command.js';
import { borrowRoutes } from '../../../agent/local/borrow-routes.js';
import { licensePageRoutes } from '../../../agent/local/license-page.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { waitFor } from '../../helpers/ports.js';
import { FakeClock } from '../agent/fake-clock.js';
import { perFile } from '../../helpers/per-file.js';
import { enrolledStore, localApiPerTest, stoppedAfterEach, testAgent, TestSigner } from './fakes.js';

/** Issue 21: a borrowed lease is honoured by the agent without the controller, until its exp, and returned early on request. */
const signer = perFile(() => TestSigner.create(), (s) => s.dispose());

const running = stoppedAfterEach<Agent>();
// Hooks run as a stack: the local API closes before the agents stop.
const startApi = localApiPerTest();

const TOKEN = 'local-token-for-borrow-tests';
const BORROW = 3600;
/** The pool's ordinary leases: on-disconnect, 20 s grace, 300 s lifetime. */
const ordinary = (clock: FakeClock, tags = 60) => signer.grant({ disconnectGraceSec: 20, ttl: 300, points: { tags, connections: 3 } }, clock.now());

function enrolledAgent(clock: FakeClock, store = enrolledStore(signer)) {
  const a = testAgent({ signer, store, clock });
  a.controller.borrowAnswer = (d) => signer.grant({ ttl: d, borrow: true, offline: true, points: { tags: 60, connections: 3 } }, clock.now());
  running.push(a.agent);
  return { ...a, mqtt: async () => (await a.transports())[0]! };
}

/** On a whole second, so a lease's countdown ends exactly at its exp. */
const wholeSecondClock = () => new FakeClock(Math.floor(Date.now() / 1000) * 1000, 5_000_000);

/** Floating on an ordinary lease over MQTT, then borrowed. */
async function borrowing(clock = wholeSecondClock()) {
  const a = enrolledAgent(clock);
  await a.agent.start();
  const mqtt = await a.mqtt();
  mqtt.answer = () => ordinary(clock);
  mqtt.connect();
  await waitFor('floating', () => a.agent.status().licenseType === 'FLOATING');
  const r = await a.agent.borrow(BORROW);
  if (!r.ok) throw new Error(`borrow refused: ${r.detail}`);
  return { ...a, clock, mqttT: mqtt, borrowed: r };
}

describe('Agent holding a borrow', () => {
  it('stays FLOATING through a disconnect of the borrow’s length (past the grace and the ordinary lifetime), then TRIAL at exp, never past exp + skew', async () => {
    const { agent, controller, clock, mqttT, borrowed } = await borrowing();
    expect(borrowed).toMatchObject({ borrowed: true, acknowledged: true, points: { tags: 60, connections: 3 } });
    expect(controller.borrows).toEqual([BORROW]);
    const exp = borrowed.expiresAt * 1000;
    expect(agent.status().borrowedUntil).toBe(borrowed.expiresAt);
    // The planned disconnect: nothing answers, not even HTTP.
    controller.reachable = false;
    mqttT.answer = async () => undefined;
    mqttT.drop();
    clock.advance(20_000); // the ordinary lease's grace
    expect(agent.status().licenseType).toBe('FLOATING');
    clock.advance(300_000); // the ordinary lease's lifetime
    expect(agent.effectiveLimits()).toEqual({ tags: 60, connections: 3, plugins: ['OPC UA'] });
    clock.advance(exp - clock.now() - 1);
    expect(agent.status().licenseType).toBe('FLOATING');
    clock.advance(1);
    expect(agent.status().licenseType).toBe('TRIAL');
    expect(agent.effectiveLimits()).toBe(TRIAL_ALLOWANCE);
    expect(agent.status().borrowedUntil).toBeUndefined();
    clock.advance(30_000);
    expect(agent.status().licenseType).toBe('TRIAL');
  });

  it('a reconnect does not end the borrow: the hello’s ordinary lease is not taken nor acknowledged, and no retry storm follows', async () => {
    const { agent, clock, mqttT, log, borrowed } = await borrowing();
    mqttT.drop();
    clock.advance(600_000);
    let offered: string | undefined;
    mqttT.answer = async () => {
      const g = await ordinary(clock, 20);
      offered = g.jti;
      return g;
    };
    mqttT.connect();
    await waitFor('the hello answered', () => offered !== undefined && log.messages().includes('kept the borrow: an ordinary lease replaces it on return or in its last minutes'));
    expect(mqttT.acks).not.toContain(offered);
    expect(agent.status()).toMatchObject({ licenseType: 'FLOATING', borrowedUntil: borrowed.expiresAt });
    expect(agent.effectiveLimits().tags).toBe(60);
    // The next attempt is planned for the borrow's last stretch, not after a backoff.
    const retry = await waitFor('the attempt logged', () => log.lines.find((l) => l.msg === 'no fresh lease yet; retrying'));
    expect(Number(retry.retryInMs)).toBeGreaterThan((BORROW - 600 - 300 - 5) * 1000);
    expect(retry.level).toBe(20); // debug: a borrow not renewed is no loss
  });

  it('an early return on reconnect, in an on-disconnect pool: the ordinary lease is enforced at once and acknowledged', async () => {
    const { agent, controller, clock, mqttT } = await borrowing();
    mqttT.drop();
    controller.reachable = false;
    // Far past the ordinary grace since the last contact.
    clock.advance(1_800_000);
    controller.reachable = true;
    let back: string | undefined;
    controller.returnAnswer = async () => {
      const g = await ordinary(clock, 20);
      back = g.jti;
      return g;
    };
    const r = await agent.returnBorrow();
    expect(r).toMatchObject({ ok: true, borrowed: false, acknowledged: true, points: { tags: 20, connections: 3 } });
    expect(controller.returns).toBe(1);
    // Acknowledged over HTTP: at the controller that supersedes the borrow, and its points are free.
    expect(controller.acks.at(-1)).toBe(back);
    // The answer was a contact: the new lease's 20 s grace runs from it.
    expect(agent.status()).toMatchObject({ licenseType: 'FLOATING', borrowedUntil: undefined });
    expect(agent.effectiveLimits().tags).toBe(20);
    expect(await agent.returnBorrow()).toMatchObject({ ok: false, status: 409, reason: 'not-borrowing' });
  });

  it('a stop keeps the borrow (no release), and the controller’s refusals pass through', async () => {
    const { agent, controller, mqttT, store, borrowed } = await borrowing();
    controller.borrowAnswer = async () => {
      throw new ControllerHttpError(409, 'conflict', 'the gateway already has 1 live borrow(s); the pool allows 1');
    };
    expect(await agent.borrow(600)).toMatchObject({ ok: false, status: 409, reason: 'conflict' });
    controller.reachable = false;
    expect(await agent.borrow(600)).toMatchObject({ ok: false, status: 503, reason: 'unreachable' });
    await agent.stop();
    expect(controller.released).toBe(0);
    expect(mqttT.calls).not.toContain('release');
    expect(store.state.lease?.seq).toBe(borrowed.seq);
  });

  it('a restart while borrowing enforces the stored borrow again, and the hello after it does not end it', async () => {
    const { agent, clock, store, borrowed } = await borrowing();
    await agent.stop();
    clock.advance(120_000);
    const again = enrolledAgent(clock, store);
    await again.agent.start();
    expect(again.agent.status()).toMatchObject({ licenseType: 'FLOATING', borrowedUntil: borrowed.expiresAt });
    const mqtt = await again.mqtt();
    mqtt.answer = () => ordinary(clock, 20);
    mqtt.connect();
    await waitFor('the hello answered', () => again.log.messages().includes('kept the borrow: an ordinary lease replaces it on return or in its last minutes'));
    expect(again.agent.status()).toMatchObject({ licenseType: 'FLOATING', borrowedUntil: borrowed.expiresAt });
    expect(again.agent.effectiveLimits().tags).toBe(60);
  });

  it('nothing to borrow without a lease; the license document shows the borrow and until when', async () => {
    const clock = wholeSecondClock();
    const { agent, controller } = enrolledAgent(clock);
    await agent.start();
    expect(await agent.borrow(600)).toMatchObject({ ok: false, status: 409, reason: 'no-lease' });
    expect(controller.borrows).toEqual([]);
    const b = await borrowing(clock);
    const doc = licenseDocument(b.agent.status());
    expect(doc).toMatchObject({ mode: 'FLOATING', leaseBorrowed: true, leaseOffline: false, totalTagCount: 60 });
    expect(doc.borrowedUntil).toBe(new Date(b.borrowed.expiresAt * 1000).toISOString().slice(0, 19).replace('T', ' '));
  });
});

describe('local borrow API and `npm run agent -- borrow`', () => {
  async function localApi() {
    const calls: (number | 'return')[] = [];
    let refuse = false;
    const ok = (borrowed: boolean) => ({ ok: true as const, seq: 7, expiresAt: Date.UTC(2026, 11, 2, 14) / 1000, points: { tags: 60, connections: 3 }, plugins: [], borrowed, acknowledged: true });
    const api = await startApi({
      view: () => {
        throw new Error('not used');
      },
      routers: [
        borrowRoutes({
          localToken: TOKEN,
          borrow: async (d) => {
            calls.push(d);
            return refuse ? { ok: false, status: 403, reason: 'forbidden', detail: 'borrowing is off in this pool' } : ok(true);
          },
          returnBorrow: async () => {
            calls.push('return');
            return ok(false);
          },
        }),
      ],
    });
    const port = new URL(api.url).port;
    return { calls, url: api.url, port, refuse: () => void (refuse = true) };
  }

  it('token, body and refusals at the local API', async () => {
    const { calls, url, refuse } = await localApi();
    const post = (path: string, body: unknown, token = TOKEN) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    expect((await post('/api/license/borrow', { durationSec: 3600 }, 'wrong')).status).toBe(401);
    expect((await post('/api/license/borrow', { durationSec: 10 })).status).toBe(400);
    expect((await post('/api/license/borrow', { durationSec: 3600, extra: 1 })).status).toBe(400);
    expect(calls).toEqual([]);
    const r = await post('/api/license/borrow', { durationSec: 3600 });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ borrowed: true, expiresAtDate: '2026-12-02 14:00:00', points: { tags: 60, connections: 3 } });
    expect((await post('/api/license/borrow/return', {})).status).toBe(200);
    refuse();
    const off = await post('/api/license/borrow', { durationSec: 3600 });
    expect(off.status).toBe(403);
    expect(await off.json()).toEqual({ error: 'forbidden', detail: 'borrowing is off in this pool' });
    expect(calls).toEqual([3600, 'return', 3600]);
  });

  it('the license page shows the borrow and until when, and offers borrow and return', async () => {
    const api = await startApi({ view: () => ({}) as never, routers: [licensePageRoutes()] });
    const html = await (await fetch(`${api.url}/license`)).text();
    for (const id of ['borrowedBadge', 'borrowed', 'borrowForm', 'borrowHours', 'returnBorrow']) expect(html).toContain(`id="${id}"`);
    // Rendered from GET /api/license's leaseBorrowed and borrowedUntil; asks the local borrow routes.
    for (const text of ['l.leaseBorrowed', 'l.borrowedUntil', "'/api/license/borrow'", "'/api/license/borrow/return'"]) expect(html).toContain(text);
  });

  it('the CLI form: hours to seconds, the agent flags for where it listens, exit codes', async () => {
    const { calls, port, refuse } = await localApi();
    const lines: string[] = [];
    const run = (cmd: 'borrow' | 'return', args: string[]) => runBorrowCommand(cmd, [...args, '--http-port', port, '--local-token', TOKEN], {}, (l) => lines.push(l));
    expect(await run('borrow', ['--hours', '8'])).toBe(0);
    expect(lines.at(-1)).toBe('borrowed 60 tags, 3 connections until 2026-12-02 14:00:00 UTC: the gateway keeps them without the controller until then');
    expect(await run('borrow', ['--minutes=90'])).toBe(0);
    expect(await run('return', [])).toBe(0);
    expect(lines.at(-1)).toMatch(/^returned the borrow: now an ordinary lease of 60 tags/);
    expect(calls).toEqual([28_800, 5_400, 'return']);
    expect(await run('borrow', [])).toBe(2);
    expect(await run('borrow', ['--seconds', '30'])).toBe(2);
    expect(await run('borrow', ['--hours', 'x'])).toBe(2);
    expect(calls).toHaveLength(3);
    refuse();
    expect(await run('borrow', ['--hours', '1'])).toBe(1);
    expect(lines.at(-1)).toBe('floatlease-agent borrow: refused (403 forbidden): borrowing is off in this pool');
  });
});
