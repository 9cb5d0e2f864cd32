import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { SimulateView } from '../../../shared/protocol/simulate.js';
import { ADMIN_TOKEN, useHarness } from '../../helpers/api-harness.js';
import { cli, json, outcome } from './cli-runner.js';

vi.setConfig({ testTimeout: 120_000 });

/** Issue 21 through the CLI: policy, elastic, pending and simulate on a pool with recorded history. */
const h = useHarness();
let env: Record<string, string>;
beforeAll(async () => {
  env = { FLOATLEASE_URL: h.url, FLOATLEASE_TOKEN: ADMIN_TOKEN };
});

describe('floatlease policy / elastic / pending / simulate', () => {
  it('sets and shows the policy and elastic range, shows a pending request, and replays the recorded history', async () => {
    const poolId = await h.pool({ name: 'sim-pool', tags: 100, connections: 10 });
    const code = await h.code(poolId, 2);
    const a = await h.enroll(code);
    await h.api('PUT', `/api/v1/gateways/${a.gatewayId}/allocation`, { tags: 80, connections: 1 });
    await h.services.presence.set(a.gatewayId, true, 'ws');
    await h.api('POST', '/api/v1/agent/lease', { renewal: true }, a.credential);
    await h.api('POST', '/api/v1/agent/usage', { tags: 30, connections: 1 }, a.credential);
    const b = await h.enroll(code);
    await h.services.presence.set(b.gatewayId, true, 'ws');
    await h.api('PUT', `/api/v1/gateways/${b.gatewayId}/allocation`, { tags: 50, connections: 1 });
    await h.api('POST', '/api/v1/agent/lease', { renewal: true }, b.credential);
    await h.services.presence.set(a.gatewayId, false, 'ws');

    const policy = await cli(['policy', 'sim-pool', '--headroom', '0.5', '--cooldown', '120', '--borrow-max', '3600'], env);
    expect(policy.code, outcome(policy)).toBe(0);
    expect(policy.stdout).toMatch(/headroom 50%.*cooldown 120 s/);
    expect(policy.stdout).toMatch(/borrowing: up to 3600 s/);
    const el = await cli(['elastic', a.gatewayId, '--tags', '20:200'], env);
    expect(el.code, outcome(el)).toBe(0);
    expect(el.stdout).toMatch(/tags 20–200, connections fixed/);
    expect((await cli(['elastic', a.gatewayId, '--tags', '9'], env)).code).toBe(2);
    const pending = await cli(['pending', b.gatewayId], env);
    expect(pending.code, outcome(pending)).toBe(0);
    expect(pending.stdout).toMatch(/Pending 30 tags/);

    const sim = await cli(['simulate', 'sim-pool', '--days', '1', '--ttl', '60', '--no-elastic', '--json'], env);
    expect(sim.code, outcome(sim)).toBe(0);
    const v = json<SimulateView>(sim);
    expect(v.gateways).toBe(2);
    expect(v.events).toBeGreaterThanOrEqual(4); // allocations, presence, usage
    expect(v.inForce.settings.ttlSec).toBe(300);
    expect(v.whatIf.settings.ttlSec).toBe(60);
    expect(v.whatIf.settings.elastic).toBeNull();
    // B waited for A's points (queued) in both.
    expect(v.inForce.report.queuedRequests).toBeGreaterThanOrEqual(1);
    const table = await cli(['simulate', 'sim-pool', '--days', '1', '--ttl', '60'], env);
    expect(table.stdout).toMatch(/stranded tag-hours/);
    expect(table.stdout).toMatch(/IN FORCE\s+WHAT IF/);
  });
});
