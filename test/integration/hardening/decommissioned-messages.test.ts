import { expect, it } from 'vitest';
import { useHarness } from '../../helpers/api-harness.js';

// Issue 15, finding 3: a session opened before the decommission (on another replica, or not yet
// closed) must have every later message refused: usage, presence, lease grants.
const h = useHarness();

it("a decommissioned gateway's usage, presence and grants are refused", async () => {
  const gw = await h.enroll(await h.code(await h.pool()));
  expect((await h.api('DELETE', `/api/v1/gateways/${gw.gatewayId}`)).status).toBe(200);
  await expect(h.services.gateways.reportUsage(gw.gatewayId, { tags: 7, connections: 1 })).rejects.toMatchObject({ problem: 'unauthorized' });
  await h.services.presence.set(gw.gatewayId, true, 'mqtt');
  await expect(h.services.leases.grant(gw.gatewayId, 'grant')).rejects.toMatchObject({ problem: 'unauthorized' });
  const view = await h.api<{ online: boolean; usage: unknown }>('GET', `/api/v1/gateways/${gw.gatewayId}`);
  expect(view.body.online).toBe(false);
  const [row] = await h.db.database.sql<{ usage_tags: number | null }[]>`select usage_tags from gateways where id = ${gw.gatewayId}`;
  expect(row?.usage_tags ?? 0).toBe(0);
});
