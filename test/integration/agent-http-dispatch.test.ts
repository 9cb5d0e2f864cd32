import { describe, expect, it, vi } from 'vitest';
import { gatewayView } from '../../shared/protocol/rest.js';
import { LANES } from '../../server/db/connection-budget.js';
import { useHarness } from '../helpers/api-harness.js';
import { waitFor } from '../helpers/ports.js';

// Issue 22, seen 4: HTTP went straight into the services, so its release skipped the offline step and
// its usage skipped the in-flight bound. It now goes through AgentHandler like MQTT and Socket.IO.
const h = useHarness();

const gatewayOf = async (id: string) => gatewayView.parse((await h.api('GET', `/api/v1/gateways/${id}`)).body);

describe('HTTP agent routes through the AgentHandler dispatcher', () => {
  it('a release over HTTP returns the points and takes the gateway offline', async () => {
    const pool = await h.pool({ tags: 100, connections: 10 });
    const gw = await h.enroll(await h.code(pool));
    await h.api('PUT', `/api/v1/gateways/${gw.gatewayId}/allocation`, { tags: 10, connections: 1 });
    await h.services.presence.set(gw.gatewayId, true, 'mqtt');
    expect((await gatewayOf(gw.gatewayId)).online).toBe(true);
    expect((await h.api('POST', '/api/v1/agent/lease', {}, gw.credential)).status).toBe(200);

    const released = await h.api<{ released: number }>('POST', '/api/v1/agent/lease/release', undefined, gw.credential);
    expect(released.status).toBe(200);
    expect(released.body.released).toBeGreaterThan(0);
    expect((await gatewayOf(gw.gatewayId)).online).toBe(false);
  });

  it('usage over HTTP takes the agent-message in-flight bound', async () => {
    const pool = await h.pool({ tags: 100, connections: 10 });
    const gateways = await Promise.all(Array.from({ length: LANES.agentMessages + 1 }, async () => h.enroll(await h.code(pool))));
    const real = h.services.gateways.reportUsage.bind(h.services.gateways);
    let started = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const spy = vi.spyOn(h.services.gateways, 'reportUsage').mockImplementation(async (...args) => {
      started += 1;
      await gate;
      return real(...args);
    });
    try {
      const posts = gateways.map((g) => h.api('POST', '/api/v1/agent/usage', { tags: 1, connections: 1 }, g.credential));
      await waitFor('the bound filled', () => started === LANES.agentMessages);
      // The next request waits for a slot: give the event loop turns to let a leak show.
      for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
      expect(started).toBe(LANES.agentMessages);
      open();
      expect((await Promise.all(posts)).map((r) => r.status)).toEqual(gateways.map(() => 204));
      expect(started).toBe(gateways.length);
    } finally {
      open();
      spy.mockRestore();
    }
  });
});
