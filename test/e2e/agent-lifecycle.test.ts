import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../helpers/agent-process.js';
import { startControllerStack, type ControllerStack } from '../helpers/controller-stack.js';
import { waitFor } from '../helpers/ports.js';
import { restClient } from '../helpers/rest-client.js';

const ADMIN = `fl_${'a'.repeat(43)}`;

/** Real controller (embedded aedes), real agents as processes, on loopback. */
describe('agent sidecar end to end', () => {
  let s: ControllerStack;
  let code: string;
  const api = restClient(() => s.ctl.url, ADMIN);
  const gateway = (id: string) => s.gateway(id);

  beforeAll(async () => {
    s = await startControllerStack({ name: 'agent-e2e', admin: ADMIN });
    ({ code } = await s.pool('site-a', { tags: 1000, connections: 50, plugins: ['OPC UA'] }));
  }, 90_000);
  afterAll(() => s?.close());

  it('after kill -9, the broker marks the gateway offline by its will; restarted without a controller, the agent enforces its stored lease', async () => {
    const stateDir = path.join(s.dir, 'state-crash');
    const hardwareId = crypto.randomUUID();
    const first = s.agent({ FLOATLEASE_MQTT_KEEPALIVE_SEC: '2', FLOATLEASE_ACTIVATION_CODE: code, FLOATLEASE_STATE_DIR: stateDir, FLOATLEASE_HARDWARE_ID: hardwareId });
    const { gatewayId } = await first.ready();
    await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 50, connections: 5 });
    await waitFor('limits', async () => (await first.license()).totalTagCount === 50);
    await waitFor('acknowledged', async () => (await gateway(gatewayId)).lease?.state === 'acknowledged');
    const t0 = Date.now();
    await first.stop('SIGKILL');
    await waitFor('offline', async () => !(await gateway(gatewayId)).online, { timeoutMs: 20_000, intervalMs: 50 });
    // A figure, not a budget: the bench owns the target (test/bench/phases/silent-loss.ts).
    console.info(`kill -9: gateway offline after ${Date.now() - t0} ms (keepalive 2 s)`);
    // Silent loss: the points stay held until the lease expires.
    expect((await gateway(gatewayId)).lease?.state).toBe('acknowledged');

    const second = s.agent({
      FLOATLEASE_CONTROLLER_URL: 'http://127.0.0.1:9',
      FLOATLEASE_MQTT_URL: 'mqtt://127.0.0.1:9',
      FLOATLEASE_FAILOVER_AFTER_SEC: '1',
      FLOATLEASE_STATE_DIR: stateDir,
      FLOATLEASE_HARDWARE_ID: hardwareId,
    });
    await second.ready();
    expect(await second.license()).toMatchObject({ mode: 'FLOATING', totalTagCount: 50, maxConnections: 5, controllerReachable: false, gatewayId });
    expect(second.logs.find((l) => l.msg === 'enforcing the stored lease until the controller answers')).toBeDefined();
    // Nothing to release to: the lease stays held by the controller until it expires.
    expect(await second.stop('SIGTERM')).toBe(0);
    expect((await gateway(gatewayId)).lease?.state).toBe('acknowledged');
  }, 60_000);

  describe.each(['mqtt', 'ws'])('an agent on %s', (transport) => {
    let agent: AgentProcess;
    let gatewayId: string;

    it('enrolls and runs on the trial allowance while nothing is allocated', async () => {
      agent = s.agent({
        FLOATLEASE_TRANSPORT: transport,
        FLOATLEASE_ACTIVATION_CODE: code,
        FLOATLEASE_STATE_DIR: path.join(s.dir, `state-${transport}`),
        FLOATLEASE_GATEWAY_NAME: `gw-${transport}`,
      });
      const started = Date.now();
      ({ gatewayId } = await agent.ready());
      console.info(`${transport} agent: enrolled and ready in ${Date.now() - started} ms (including process start)`);
      expect(await agent.license()).toMatchObject({ licenseType: 'TRIAL', totalTagCount: 30, maxConnections: 30, enabledPlugins: [], gatewayId, transport, controllerReachable: true });
      expect(await gateway(gatewayId)).toMatchObject({ online: true, transport });
      const mode = (await fs.stat(path.join(s.dir, `state-${transport}`, 'credential.json'))).mode & 0o777;
      expect(mode).toBe(0o600);
    });

    it("enforces an allocation after the administrator's change, and acknowledges the lease", async () => {
      const t0 = Date.now();
      expect((await api('PUT', `/api/v1/gateways/${gatewayId}/allocation`, { tags: 120, connections: 7, plugins: ['OPC UA'] })).status).toBe(200);
      const lic = await waitFor('limits applied', async () => {
        const l = await agent.license();
        return l.totalTagCount === 120 && l.maxConnections === 7 ? l : undefined;
      }, { intervalMs: 10 });
      // A figure, not a budget: the bench owns the target (test/bench/phases/alloc-latency.ts).
      console.info(`${transport} agent: allocation to enforced limits in ${Date.now() - t0} ms`);
      expect(lic).toMatchObject({ mode: 'FLOATING', enabledPlugins: ['OPC UA'], expired: false, transport });
      expect(String(lic.expiredDate)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      await waitFor('acknowledged', async () => (await gateway(gatewayId)).lease?.state === 'acknowledged');
      expect((await gateway(gatewayId)).lease?.seq).toBe(lic.seq);
    });

    it('on SIGTERM releases the lease (not left to expire) and exits cleanly', async () => {
      const t0 = Date.now();
      const exited = agent.stop('SIGTERM');
      await waitFor('released', async () => (await gateway(gatewayId)).lease?.state === 'released', { intervalMs: 20 });
      const releasedIn = Date.now() - t0;
      expect(await exited).toBe(0);
      // Figures, not budgets: the bench owns the target (test/bench/phases/release.ts).
      console.info(`${transport} agent: SIGTERM to lease released in ${releasedIn} ms, exit in ${Date.now() - t0} ms`);
      expect((await gateway(gatewayId)).online).toBe(false);
      expect(agent.logs.find((l) => l.msg === 'released the lease')).toMatchObject({ transport });
    });
  });
});
