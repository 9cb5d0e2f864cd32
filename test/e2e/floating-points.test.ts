import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../helpers/agent-process.js';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';

const ADMIN = `fl_${'f'.repeat(43)}`;
const TTL_SEC = 15;
const SWEEP_MS = 250;
const ALLOCATION = { tags: 100, connections: 10 };

/**
 * Issue 14, acceptance 3, with a real controller and real agents: 3 gateways allocated 100 tags
 * each in a 200-tag pool. Points float: the third waits until one of the first two stops, then
 * gets its points (clean stop: at once; kill -9: at the lease's exp); a reserved gateway keeps
 * its points held while offline.
 */
describe('points float between real agents (200-tag pool, 100-tag allocations)', () => {
  let s: ControllerStack;
  let poolId: string;
  let code: string;
  const api = restClient(() => s.ctl.url, ADMIN);
  const tagsOf = async (a: AgentProcess) => Number((await a.license()).totalTagCount);

  /** A running agent with a 100-tag allocation; resolves once it holds it or waits for it. */
  const agent = async (outcome: 'granted' | 'pending') => {
    const a = s.agent({ FLOATLEASE_MQTT_KEEPALIVE_SEC: '2', FLOATLEASE_ACTIVATION_CODE: code });
    const { gatewayId } = await a.ready();
    await waitFor('online', async () => (await s.gateway(gatewayId)).online);
    const put = await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, ALLOCATION);
    if (put.status !== 200) throw new Error(`allocation: ${put.status} ${JSON.stringify(put.body)}`);
    if (outcome === 'granted') {
      await waitFor('limits applied', async () => (await tagsOf(a)) === ALLOCATION.tags);
      await waitFor('lease acknowledged', async () => (await s.gateway(gatewayId)).lease?.state === 'acknowledged');
    } else {
      await waitFor('pending 100', async () => (await s.gateway(gatewayId)).pending.tags === ALLOCATION.tags);
    }
    return { a, gatewayId };
  };

  beforeAll(async () => {
    s = await startControllerStack({ name: 'floating', admin: ADMIN, restartable: true, env: { SWEEP_INTERVAL_MS: String(SWEEP_MS) } });
    ({ poolId, code } = await s.pool('site-f', { tags: 200, connections: 30 }, { settings: { leaseTtlSeconds: TTL_SEC } }));
  }, 90_000);
  afterAll(() => s?.close());

  it('SIGTERM frees points for the pending gateway at once; SIGKILL at exp; a reserved gateway keeps them offline', async () => {
    const one = await agent('granted');
    const two = await agent('granted');
    const third = await agent('pending');
    expect(await tagsOf(third.a)).toBeLessThan(ALLOCATION.tags);
    expect((await s.poolView(poolId)).held.tags).toBe(200);
    expect((await s.poolView(poolId)).pending.tags).toBe(100);

    // 1. A clean stop releases; the freed points are pushed to the pending gateway.
    const termAt = Date.now();
    await one.a.stop('SIGTERM');
    await waitFor('the third agent enforces 100 tags', async () => (await tagsOf(third.a)) === ALLOCATION.tags, { timeoutMs: 20_000, intervalMs: 20 });
    const termMs = Date.now() - termAt;
    console.log(`[floating] SIGTERM → third agent's /api/license shows 100 tags after ${termMs} ms`);
    expect((await s.poolView(poolId)).held.tags).toBe(200);

    // 2. kill -9: the killed agent may enforce its lease until exp, so its points wait for it.
    const fourth = await agent('pending');
    await two.a.stop('SIGKILL');
    await waitFor('killed gateway offline', async () => !(await s.gateway(two.gatewayId)).online, { timeoutMs: 10_000 });
    const exp = Date.parse((await s.gateway(two.gatewayId)).lease!.expiresAt);
    let grantedAt = 0;
    await waitFor(
      'the fourth agent enforces 100 tags',
      async () => {
        if ((await tagsOf(fourth.a)) !== ALLOCATION.tags) return false;
        grantedAt = Date.now();
        return true;
      },
      { timeoutMs: exp - Date.now() + 20_000, intervalMs: 50 },
    );
    console.log(
      `[floating] SIGKILL → points reached the pending agent ${grantedAt - exp} ms after the killed lease's exp ` +
        `(TTL ${TTL_SEC} s, sweep ${SWEEP_MS} ms)`,
    );
    // Not before exp: the agent's license was read after it changed, so a grant before exp fails here.
    expect(grantedAt).toBeGreaterThanOrEqual(exp);
    expect((await s.poolView(poolId)).held.tags).toBe(200);

    // 3. A reserved gateway goes offline: its allocation stays held, nobody else gets it.
    const reserve = await api('PUT', `/api/v1/gateways/${third.gatewayId}/allocation`, { ...ALLOCATION, reserved: true });
    expect(reserve.status, JSON.stringify(reserve.body)).toBe(200);
    const fifth = await agent('pending');
    await third.a.stop('SIGTERM'); // a clean stop: its lease is released at once
    await waitFor('reserved gateway offline, lease ended', async () => {
      const g = await s.gateway(third.gatewayId);
      return !g.online && g.lease?.state === 'released';
    }, { timeoutMs: 10_000 });
    const thirdGone = await s.gateway(third.gatewayId);
    expect(thirdGone.reserved).toBe(true);
    expect(thirdGone.held.tags).toBe(ALLOCATION.tags);
    // Watch past the released lease's exp plus several sweeps: the points never move.
    const watchUntil = Date.parse(thirdGone.lease!.expiresAt) + 4 * SWEEP_MS;
    // A plain loop, not waitFor: every sample must pass (waitFor would retry a failed one).
    let samples = 0;
    while (Date.now() <= watchUntil) {
      const [p, f] = await Promise.all([s.poolView(poolId), s.gateway(fifth.gatewayId)]);
      expect(p.held.tags).toBe(200); // the fourth's 100 + the reserved 100
      expect(f.pending.tags).toBe(ALLOCATION.tags);
      expect(await tagsOf(fifth.a)).toBeLessThan(ALLOCATION.tags);
      samples += 1;
      await new Promise((r) => setTimeout(r, SWEEP_MS)); // paces the samples of the watch window: no wait for an event
    }
    console.log(`[floating] reserved gateway offline: pool held 200, fifth pending 100 in all ${samples} samples up to its lease's exp + ${4 * SWEEP_MS} ms`);
    expect(samples).toBeGreaterThan(3);
  }, 150_000);
});
